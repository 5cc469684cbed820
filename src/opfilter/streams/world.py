"""The world around the rows: companies, users, projects — and the fixture format (SPEC §6).

>>> world = World.from_json({
...     "companies": [{"slug": "acme", "streams_enabled": True}],
...     "users": [{"id": 10, "token": "tok-alice",
...                "memberships": {"acme": ["production_plan.view"]}}],
...     "projects": [{"id": 1, "company": "acme", "pm_id": 10, "account_id": None}],
...     "production_plan_streams": [],
... })
>>> world.user_by_token["tok-alice"].memberships["acme"]
frozenset({'production_plan.view'})

Loading is strict about what it reads and lenient about what it does not: unknown keys are
ignored, a missing section is empty, ``deleted_at`` may be absent and ``streams_enabled``
absent means false; every id and constraint is checked, and a :class:`FixtureError` names
the section, the row (index and id) and the field.  References are not required to
resolve: a row whose project is unknown, a project whose company is unknown, a membership
of an unknown company or a PM who is no user are all allowed — they simply grant nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from ..errors import OpfilterError
from ..values import INT64_MAX
from .model import InvalidRow, ProductionPlanStream, format_value

__all__ = [
    "PERMISSION_VIEW",
    "PERMISSION_VIEW_OTHER",
    "Company",
    "FixtureError",
    "Project",
    "User",
    "World",
    "dump_world",
    "dumps_world",
    "is_slug",
    "load_world",
    "loads_world",
]

PERMISSION_VIEW = "production_plan.view"
"""Shows rows of projects where the user is the PM or the Account."""
PERMISSION_VIEW_OTHER = "production_plan.view_other"
"""Shows rows of the other projects of the company."""

_VISIBLE_ASCII = re.compile(r"[!-~]+\Z")
_SLUG = re.compile(r"[!-+\--~]+\Z")  # visible ASCII but the comma
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def is_slug(text: str) -> bool:
    """Whether ``text`` can be a company slug: visible ASCII characters (no space, no
    control character) other than ``,`` — a comma is what joins repeated headers, so a slug
    holding one could not be told from ``Wethod-Company`` given twice."""
    return _SLUG.match(text) is not None


def _check_text(name: str, value: str, where: str = "") -> None:
    """Strings a fixture may hold: no NUL, no control characters, no lone surrogates
    (none can be stored in every database, or sent in a header)."""
    bad = _UNSAFE.search(value)
    if bad is not None:
        raise InvalidRow(name, f"{value!r}{where} holds {_describe(bad[0])}, which no "
                         "string of a fixture may hold")


def _describe(ch: str) -> str:
    if ch == "\x00":
        return "a NUL character"
    if "\ud800" <= ch <= "\udfff":
        return f"a lone surrogate (U+{ord(ch):04X})"
    return f"a control character (U+{ord(ch):04X})"


class FixtureError(OpfilterError, ValueError):
    """A fixture breaks the format or a constraint.  The message names where:
    ``production_plan_streams[3] (id 17), field 'value': must be at most 100, got 100.5``.

    ``section``, ``index``, ``row_id`` and ``field`` hold the parts (``None`` when the
    problem is not inside one row)."""

    def __init__(
        self,
        problem: str,
        *,
        section: str | None = None,
        index: int | None = None,
        row_id: object = None,
        field: str | None = None,
    ) -> None:
        self.section = section
        self.index = index
        self.row_id = row_id
        self.field = field
        self.problem = problem
        where = ""
        if section is not None:
            where = section if index is None else f"{section}[{index}]"
            if row_id is not None:
                where += f" (id {row_id!r})" if isinstance(row_id, str) else f" (id {row_id})"
        if field is not None:
            where = f"{where}, field '{field}'" if where else f"field '{field}'"
        super().__init__(f"{where}: {problem}" if where else problem)


@dataclass(frozen=True, slots=True)
class Company:
    """A company (``slug`` is what ``Wethod-Company`` names, case-sensitive)."""

    slug: str
    streams_enabled: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.slug, str) or not is_slug(self.slug):
            raise InvalidRow("slug", f"must be a non-empty string of visible ASCII characters "
                             f"without spaces or commas, got {self.slug!r}")
        if not isinstance(self.streams_enabled, bool):
            raise InvalidRow(
                "streams_enabled", f"must be true or false, got {self.streams_enabled!r}"
            )


@dataclass(frozen=True, slots=True, eq=False)
class User:
    """A user: ``memberships`` maps a company slug to the user's permissions there."""

    id: int
    token: str
    memberships: Mapping[str, AbstractSet[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_ref_id("id", self.id, nullable=False)
        if not isinstance(self.token, str) or _VISIBLE_ASCII.match(self.token) is None:
            raise InvalidRow("token", "must be a non-empty string of visible ASCII characters "
                             "without spaces (it is sent as 'Authorization: Bearer <token>')")
        frozen: dict[str, frozenset[str]] = {}
        for slug, perms in dict(self.memberships).items():
            if not isinstance(slug, str):
                raise InvalidRow("memberships", f"company slugs must be strings, got {slug!r}")
            _check_text("memberships", slug, " (a company slug)")
            if (
                isinstance(perms, str)
                or not isinstance(perms, Iterable)
                or not all(isinstance(p, str) for p in perms)
            ):
                raise InvalidRow(
                    "memberships", f"the permissions in {slug!r} must be a list of strings"
                )
            for p in perms:
                _check_text("memberships", p, f" (a permission in {slug!r})")
            frozen[slug] = frozenset(perms)
        object.__setattr__(self, "memberships", MappingProxyType(frozen))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, User):
            return NotImplemented
        return (self.id, self.token, dict(self.memberships)) == (
            other.id, other.token, dict(other.memberships)
        )

    def __hash__(self) -> int:
        return hash((self.id, self.token))

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, token=..., memberships={dict(self.memberships)!r})"


@dataclass(frozen=True, slots=True)
class Project:
    """A project of ``company``; its PM and Account (user ids) may be null."""

    id: int
    company: str
    pm_id: int | None = None
    account_id: int | None = None

    def __post_init__(self) -> None:
        _check_ref_id("id", self.id, nullable=False)
        if not isinstance(self.company, str):
            raise InvalidRow("company", f"must be a company slug, got {self.company!r}")
        _check_text("company", self.company)
        _check_ref_id("pm_id", self.pm_id, nullable=True)
        _check_ref_id("account_id", self.account_id, nullable=True)

    def is_own(self, user_id: int) -> bool:
        """Whether ``user_id`` is this project's PM or Account."""
        return user_id == self.pm_id or user_id == self.account_id


def _check_ref_id(name: str, value: object, *, nullable: bool) -> None:
    if value is None and nullable:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= INT64_MAX:
        raise InvalidRow(
            name, f"must be an integer from 1 to {INT64_MAX}{' or null' if nullable else ''}, "
            f"got {value!r}"
        )


class World:
    """Companies, users, projects and rows, with the lookups the endpoint needs.

    Construction checks uniqueness (company slugs, user ids and tokens, project ids, row
    ids) and raises :class:`FixtureError`.  Rows are kept sorted by id.
    """

    __slots__ = (
        "companies",
        "company_by_slug",
        "project_by_id",
        "projects",
        "rows",
        "user_by_id",
        "user_by_token",
        "users",
    )

    companies: tuple[Company, ...]
    users: tuple[User, ...]
    projects: tuple[Project, ...]
    rows: tuple[ProductionPlanStream, ...]
    company_by_slug: Mapping[str, Company]
    user_by_id: Mapping[int, User]
    user_by_token: Mapping[str, User]
    project_by_id: Mapping[int, Project]

    def __init__(
        self,
        companies: Iterable[Company] = (),
        users: Iterable[User] = (),
        projects: Iterable[Project] = (),
        rows: Iterable[ProductionPlanStream] = (),
    ) -> None:
        self.companies = tuple(companies)
        self.users = tuple(users)
        self.projects = tuple(projects)
        self.rows = tuple(sorted(rows, key=lambda r: r.id))
        self.company_by_slug = _index("companies", self.companies, "slug", lambda c: c.slug)
        self.user_by_id = _index("users", self.users, "id", lambda u: u.id)
        self.user_by_token = _index("users", self.users, "token", lambda u: u.token)
        self.project_by_id = _index("projects", self.projects, "id", lambda p: p.id)
        _index("production_plan_streams", self.rows, "id", lambda r: r.id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, World):
            return NotImplemented
        return (
            sorted(self.companies, key=lambda c: c.slug)
            == sorted(other.companies, key=lambda c: c.slug)
            and sorted(self.users, key=lambda u: u.id) == sorted(other.users, key=lambda u: u.id)
            and sorted(self.projects, key=lambda p: p.id)
            == sorted(other.projects, key=lambda p: p.id)
            and self.rows == other.rows
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"<World: {len(self.companies)} companies, {len(self.users)} users, "
            f"{len(self.projects)} projects, {len(self.rows)} rows>"
        )

    # -- the fixture format ---------------------------------------------------------------

    @classmethod
    def from_json(cls, obj: object) -> World:
        """A world from a parsed fixture (SPEC §6); raises :class:`FixtureError`.

        Parse the file with ``json.loads(text, parse_float=Decimal)`` (as
        :func:`loads_world` does) so that ``value`` numbers are read exactly."""
        if not isinstance(obj, Mapping):
            raise FixtureError(f"the fixture must be a JSON object, got {type(obj).__name__}")
        return cls(
            companies=_section(obj, "companies", _company),
            users=_section(obj, "users", _user),
            projects=_section(obj, "projects", _project),
            rows=_section(obj, "production_plan_streams", ProductionPlanStream.from_json),
        )

    def to_json(self) -> dict[str, Any]:
        """The world as a JSON-compatible fixture that :meth:`from_json` reads back equal
        (``value`` as an exact decimal string; :func:`dumps_world` writes numbers)."""
        return {
            "companies": [
                {"slug": c.slug, "streams_enabled": c.streams_enabled} for c in self.companies
            ],
            "users": [
                {
                    "id": u.id,
                    "token": u.token,
                    "memberships": {s: sorted(p) for s, p in u.memberships.items()},
                }
                for u in self.users
            ],
            "projects": [
                {"id": p.id, "company": p.company, "pm_id": p.pm_id, "account_id": p.account_id}
                for p in self.projects
            ],
            "production_plan_streams": [r.to_fixture() for r in self.rows],
        }


def _index(section: str, items: tuple[Any, ...], key_name: str, key: Any) -> Mapping[Any, Any]:
    out: dict[Any, Any] = {}
    for i, item in enumerate(items):
        k = key(item)
        if k in out:
            shown = "a token used before" if key_name == "token" else f"{k!r} used before"
            raise FixtureError(
                f"duplicate {key_name}: {shown}", section=section, index=i,
                row_id=getattr(item, "id", getattr(item, "slug", None)), field=key_name,
            )
        out[k] = item
    return MappingProxyType(out)


def _section(obj: Mapping[str, Any], name: str, read: Any) -> list[Any]:
    items = obj.get(name)
    if items is None:
        return []
    if not isinstance(items, list | tuple):
        raise FixtureError(f"must be a JSON array, got {type(items).__name__}", section=name)
    out = []
    for i, item in enumerate(items):
        try:
            out.append(read(item))
        except InvalidRow as e:
            row_id = item.get("slug" if name == "companies" else "id") if isinstance(
                item, Mapping) else None
            if isinstance(row_id, bool) or not isinstance(row_id, int | str) or row_id == "":
                row_id = None
            if e.field == "row":
                raise FixtureError(e.problem, section=name, index=i, row_id=row_id) from None
            raise FixtureError(e.problem, section=name, index=i, row_id=row_id,
                               field=e.field) from None
    return out


def _fields(obj: object, required: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise InvalidRow("row", f"must be a JSON object, got {type(obj).__name__}")
    for name in required:
        if name not in obj:
            raise InvalidRow(name, "is missing")
    return obj


def _company(obj: object) -> Company:
    m = _fields(obj, ("slug",))
    enabled = m.get("streams_enabled", False)
    return Company(m["slug"], False if enabled is None else enabled)


def _user(obj: object) -> User:
    m = _fields(obj, ("id", "token"))
    memberships = m.get("memberships") or {}
    if not isinstance(memberships, Mapping):
        raise InvalidRow("memberships", "must be a JSON object {company slug: [permissions]}")
    for slug, perms in memberships.items():
        if not isinstance(perms, list | tuple):
            raise InvalidRow("memberships", f"the permissions in {slug!r} must be a JSON array")
    return User(m["id"], m["token"], memberships)


def _project(obj: object) -> Project:
    m = _fields(obj, ("id", "company"))
    return Project(m["id"], m["company"], m.get("pm_id"), m.get("account_id"))


# -- files --------------------------------------------------------------------------------


def _reject_constant(name: str) -> NoReturn:
    raise FixtureError(f"{name} is not a number a fixture may hold")


def loads_world(text: str | bytes) -> World:
    """A world from fixture JSON text (numbers read exactly); raises :class:`FixtureError`."""
    try:
        obj = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise FixtureError(f"not valid JSON: {e}") from None
    except UnicodeDecodeError as e:
        raise FixtureError(f"not UTF-8 text: {e}") from None
    return World.from_json(obj)


def load_world(path: str | PathLike[str]) -> World:
    """A world from a fixture file; raises :class:`FixtureError` (and ``OSError``)."""
    return loads_world(Path(path).read_bytes())


def _scalar(value: object) -> str:
    if isinstance(value, Decimal):
        return format_value(value)
    return json.dumps(value, ensure_ascii=False)


def _record(fields: Mapping[str, object]) -> str:
    return "{" + ", ".join(f"{json.dumps(k)}: {_scalar(v)}" for k, v in fields.items()) + "}"


def dumps_world(world: World) -> str:
    """The world as fixture text: one record per line, ``value`` as a JSON number in its
    shortest exact form, datetimes in full precision; :func:`loads_world` reads it back
    equal."""
    data = world.to_json()
    for row, fixture in zip(world.rows, data["production_plan_streams"], strict=True):
        fixture["value"] = row.value
    sections = []
    for name in ("companies", "users", "projects", "production_plan_streams"):
        records = ",\n    ".join(_record(r) for r in data[name])
        sections.append(f'  "{name}": [' + (f"\n    {records}\n  ]" if records else "]"))
    return "{\n" + ",\n".join(sections) + "\n}\n"


def dump_world(world: World, path: str | PathLike[str]) -> None:
    """Write :func:`dumps_world` to ``path`` (UTF-8)."""
    Path(path).write_text(dumps_world(world), encoding="utf-8")
