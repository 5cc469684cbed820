"""The endpoint's reference semantics (SPEC §5) through ``handle`` and the MemoryStore.

Table-driven tests pin every status code and every permission/role combination; the
property tests compare ``handle`` with an oracle written here straight from the SPEC's
words (it does not use the predicate backend).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from opfilter import parse_query
from opfilter.streams import SCHEMA
from opfilter.streams.endpoint import MESSAGES, PATH, Response, handle
from opfilter.streams.model import ProductionPlanStream
from opfilter.streams.store import MemoryStore, Store
from opfilter.streams.strategies import BASE_DAYS, SLUGS, instants, worlds
from opfilter.streams.world import (
    PERMISSION_VIEW,
    PERMISSION_VIEW_OTHER,
    Company,
    Project,
    User,
    World,
)

INT64_MAX = 2**63 - 1
VIEW, OTHER = PERMISSION_VIEW, PERMISSION_VIEW_OTHER
T = datetime(2024, 1, 5, 9, 0, tzinfo=UTC)


def row(id: int, project_id: int, deleted: bool = False, **changes: Any) -> ProductionPlanStream:
    fields: dict[str, Any] = {
        "id": id,
        "created_at": T,
        "updated_at": T + timedelta(days=id),
        "date": date(2024, 1, 1),
        "value": Decimal("15.6"),
        "project_id": project_id,
        "stream_id": 1,
        "production_plan_id": 1,
        "deleted_at": T + timedelta(days=30) if deleted else None,
    }
    fields.update(changes)
    return ProductionPlanStream(**fields)


WORLD = World(
    companies=[Company("acme", True), Company("initech", False), Company("globex", True)],
    users=[
        User(1, "tok-both", {"acme": {VIEW, OTHER}, "initech": {VIEW, OTHER}}),
        User(2, "tok-view", {"acme": {VIEW}}),
        User(3, "tok-other", {"acme": {OTHER}}),
        User(4, "tok-none", {"acme": {"production_plan.edit"}}),
        User(5, "tok-globex", {"globex": {VIEW, OTHER}}),
    ],
    projects=[
        Project(10, "acme", pm_id=2),
        Project(11, "acme", account_id=2),
        Project(12, "acme", pm_id=2, account_id=2),
        Project(13, "acme", pm_id=7),
        Project(14, "acme"),
        Project(15, "acme", pm_id=3),
        Project(20, "globex", pm_id=5),
        Project(30, "initech"),
    ],
    rows=[
        row(1, 10), row(2, 11), row(3, 12), row(4, 13), row(5, 14), row(6, 15),
        row(7, 99), row(8, 20), row(9, 10, deleted=True), row(10, 13, deleted=True),
        row(11, 30),
    ],
)
STORE = MemoryStore(WORLD)


def headers(token: str | None = "tok-both", company: str | None = "acme",
            version: str | None = "2024-06-15") -> list[tuple[str, str]]:
    out = []
    if token is not None:
        out.append(("Authorization", f"Bearer {token}"))
    if company is not None:
        out.append(("Wethod-Company", company))
    if version is not None:
        out.append(("Wethod-Version", version))
    return out


def get(query: Any = "", hdrs: Any = None, path: str = PATH, method: str = "GET",
        store: Store = STORE) -> Response:
    return handle(store, method, path, query, headers() if hdrs is None else hdrs)


def ids(response: Response) -> list[int]:
    assert response.status == 200, response.body
    body = response.json()
    if isinstance(body, dict):
        return [body["id"]]
    return [r["id"] for r in body]


def check_error(response: Response, status: int, key: str, fields: list[str] | None = None
                ) -> None:
    assert response.status == status, response.body
    assert response.header("content-type") == "application/json; charset=utf-8"
    body = json.loads(response.body)
    assert list(body)[:2] == ["key", "message"]
    assert body["key"] == key
    assert body["message"] == MESSAGES[key]
    if fields is None:
        assert "failures" not in body
    else:
        assert list(body) == ["key", "message", "failures"]
        assert [f["field"] for f in body["failures"]] == fields
        assert all(list(f) == ["field", "message"] for f in body["failures"])


# -- status codes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hdrs", "query", "path", "method", "status", "key", "fields"),
    [
        # 404 / 405: routing comes first
        (headers(), "", "/api/production-plan-stream", "GET", 404, "not_found", None),
        (headers(), "", PATH + "/", "GET", 404, "not_found", None),
        (headers(), "", PATH + "/1/x", "GET", 404, "not_found", None),
        ([], "", "/", "GET", 404, "not_found", None),
        ([], "", PATH, "POST", 405, "method_not_allowed", None),
        ([], "", PATH + "/1", "DELETE", 405, "method_not_allowed", None),
        (headers(), "", PATH, "get", 405, "method_not_allowed", None),
        # 401 before everything else
        ([], "limit=0", PATH, "GET", 401, "unauthorized", None),
        (headers(token="nope"), "", PATH, "GET", 401, "unauthorized", None),
        ([("Authorization", "tok-both")], "", PATH, "GET", 401, "unauthorized", None),
        ([("Authorization", "Basic tok-both")], "", PATH, "GET", 401, "unauthorized", None),
        ([("Authorization", "Bearer")], "", PATH, "GET", 401, "unauthorized", None),
        ([("Authorization", "Bearer tok-both extra")], "", PATH, "GET", 401, "unauthorized",
         None),
        ([("Authorization", "Bearer tok-both"), ("authorization", "Bearer tok-both")], "", PATH,
         "GET", 401, "unauthorized", None),
        (headers(token="TOK-BOTH"), "", PATH, "GET", 401, "unauthorized", None),
        ([], "", PATH + "/1", "GET", 401, "unauthorized", None),
        ([], "", PATH + "/abc", "GET", 401, "unauthorized", None),
        # header 400s, before 403 and before query failures
        (headers(company=None), "limit=0", PATH, "GET", 400, "invalid_data", ["Wethod-Company"]),
        (headers(company=""), "", PATH, "GET", 400, "invalid_data", ["Wethod-Company"]),
        (headers(company="  "), "", PATH, "GET", 400, "invalid_data", ["Wethod-Company"]),
        (headers(version=None), "", PATH, "GET", 400, "invalid_data", ["Wethod-Version"]),
        (headers(version="2024-06-16"), "", PATH, "GET", 400, "invalid_data", ["Wethod-Version"]),
        (headers(company=None, version="x"), "", PATH, "GET", 400, "invalid_data",
         ["Wethod-Company", "Wethod-Version"]),
        (headers(company="nobody", version=None), "", PATH, "GET", 400, "invalid_data",
         ["Wethod-Version"]),
        ([*headers(), ("Wethod-Version", "2024-06-15")], "", PATH, "GET", 400, "invalid_data",
         ["Wethod-Version"]),
        # 403: unknown company, not a member, neither permission (before 412)
        (headers(company="nobody"), "limit=0", PATH, "GET", 403, "forbidden", None),
        (headers(company="ACME"), "", PATH, "GET", 403, "forbidden", None),
        (headers(token="tok-globex"), "", PATH, "GET", 403, "forbidden", None),
        (headers(token="tok-none"), "", PATH, "GET", 403, "forbidden", None),
        (headers(token="tok-view", company="initech"), "", PATH, "GET", 403, "forbidden", None),
        (headers(token="tok-none"), "", PATH + "/1", "GET", 403, "forbidden", None),
        # 412 before query failures
        (headers(company="initech"), "limit=0", PATH, "GET", 412, "precondition_failure", None),
        (headers(company="initech"), "", PATH + "/11", "GET", 412, "precondition_failure", None),
        # query 400 with every failure
        (headers(), "limit=0&offset=-1&project_id=x&deleted=maybe", PATH, "GET", 400,
         "invalid_data", ["limit", "offset", "project_id", "deleted"]),
        (headers(), "limit=1&limit=1", PATH, "GET", 400, "invalid_data", ["limit"]),
        (headers(), "deleted=eq:include", PATH, "GET", 400, "invalid_data", ["deleted"]),
        (headers(), "updated_at=foo:1&deleted_at=gt:null", PATH, "GET", 400, "invalid_data",
         ["updated_at", "deleted_at"]),
        (headers(), "x" * 16385, PATH, "GET", 400, "invalid_data", ["query"]),
        (headers(), "deleted=only&deleted=only", PATH + "/999", "GET", 400, "invalid_data",
         ["deleted"]),
        # {id}: 404 last
        (headers(), "", PATH + "/7", "GET", 404, "not_found", None),
        (headers(), "", PATH + "/8", "GET", 404, "not_found", None),
        (headers(), "", PATH + "/9", "GET", 404, "not_found", None),
        (headers(), "", PATH + "/0", "GET", 404, "not_found", None),
        (headers(), "", PATH + "/-1", "GET", 404, "not_found", None),
        (headers(), "", PATH + "/abc", "GET", 404, "not_found", None),
        (headers(), "", PATH + f"/{INT64_MAX + 1}", "GET", 404, "not_found", None),
        (headers(), "", PATH + "/" + "9" * 5000, "GET", 404, "not_found", None),
        (headers(), "", PATH + "/١", "GET", 404, "not_found", None),
        (headers(token="tok-view"), "", PATH + "/4", "GET", 404, "not_found", None),
        (headers(token="tok-other"), "deleted=include", PATH + "/6", "GET", 404, "not_found",
         None),
    ],
)
def test_status_codes(hdrs: Any, query: str, path: str, method: str, status: int, key: str,
                      fields: list[str] | None) -> None:
    response = get(query, hdrs, path, method)
    check_error(response, status, key, fields)
    assert response.body[-1:] == b"}"
    assert (response.header("Allow") == "GET") is (status == 405)
    assert (response.header("WWW-Authenticate") == "Bearer") is (status == 401)


def test_success_shapes() -> None:
    response = get()
    assert response.status == 200
    assert response.headers == [("Content-Type", "application/json; charset=utf-8")]
    assert response.body.startswith(b'[{"id":1,"created_at":"2024-01-05T09:00:00.000Z",')
    assert b" " not in response.body
    assert not response.body.endswith(b"\n")
    item = get("", None, PATH + "/3")
    assert item.status == 200
    assert item.body == WORLD.rows[2].to_json().encode()
    assert get("project_id=12345").body == b"[]"


@pytest.mark.parametrize(
    ("hdrs", "expected"),
    [
        ({"authorization": "bearer tok-both", "WETHOD-COMPANY": "acme",
          "wethod-version": "2024-06-15"}, 200),
        ({"Authorization": "BEARER   tok-both ", "Wethod-Company": " acme\t",
          "Wethod-Version": ["2024-06-15"]}, 200),
        ([(b"Authorization", b"Bearer tok-both"), (b"Wethod-Company", b"acme"),
          (b"Wethod-Version", b"2024-06-15")], 200),
        ({"Authorization": ["Bearer tok-both", "Bearer tok-view"], "Wethod-Company": "acme",
          "Wethod-Version": "2024-06-15"}, 401),
    ],
)
def test_header_forms(hdrs: Any, expected: int) -> None:
    assert get("", hdrs).status == expected


def test_query_forms_agree() -> None:
    raw = get("?project_id=in:10,11&limit=2")
    assert ids(raw) == [1, 2]  # row 9 (project 10) is deleted, so excluded
    pairs = get([("project_id", "in:10,11"), ("limit", "2")])
    mapping = get({"project_id": ["in:10,11"], "limit": "2"})
    bytes_ = get(b"project_id=in%3A10%2C11&limit=2")
    assert raw.body == pairs.body == mapping.body == bytes_.body


# -- permissions and roles ------------------------------------------------------------------


PERMS = {"view": {VIEW}, "view_other": {OTHER}, "both": {VIEW, OTHER}, "neither": set()}
ROLES = {
    "pm": (1, None),
    "account": (None, 1),
    "pm_and_account": (1, 1),
    "neither": (2, 3),
    "no_pm_no_account": (None, None),
}


@pytest.mark.parametrize("perm", list(PERMS))
@pytest.mark.parametrize("role", list(ROLES))
def test_permission_and_role_table(perm: str, role: str) -> None:
    pm, account = ROLES[role]
    world = World(
        [Company("acme", True)],
        [User(1, "tok", {"acme": PERMS[perm]})],
        [Project(5, "acme", pm, account)],
        [row(1, 5), row(2, 6)],  # row 2's project is unknown: never visible
    )
    store = MemoryStore(world)
    own = role in ("pm", "account", "pm_and_account")
    response = get("", headers("tok"), store=store)
    item = get("", headers("tok"), PATH + "/1", store=store)
    if perm == "neither":
        check_error(response, 403, "forbidden")
        check_error(item, 403, "forbidden")
        return
    visible = (own and perm in ("view", "both")) or (not own and perm in ("view_other", "both"))
    assert ids(response) == ([1] if visible else [])
    if visible:
        assert ids(item) == [1]
    else:
        check_error(item, 404, "not_found")
    check_error(get("", headers("tok"), PATH + "/2", store=store), 404, "not_found")


@pytest.mark.parametrize(
    ("token", "company", "expected"),
    [
        ("tok-both", "acme", [1, 2, 3, 4, 5, 6]),
        ("tok-view", "acme", [1, 2, 3]),
        ("tok-other", "acme", [1, 2, 3, 4, 5]),
        ("tok-globex", "globex", [8]),
    ],
)
def test_visibility_in_the_shared_world(token: str, company: str, expected: list[int]) -> None:
    assert ids(get("", headers(token, company))) == expected


@pytest.mark.parametrize(
    ("deleted", "expected"),
    [
        (None, [1, 2, 3, 4, 5, 6]),
        ("exclude", [1, 2, 3, 4, 5, 6]),
        ("include", [1, 2, 3, 4, 5, 6, 9, 10]),
        ("only", [9, 10]),
    ],
)
def test_deleted_values(deleted: str | None, expected: list[int]) -> None:
    query = "" if deleted is None else f"deleted={deleted}"
    assert ids(get(query)) == expected
    assert ids(get(query + "&limit=1&offset=1")) == expected[1:2]
    for row_id in (1, 9):
        item = get(query, None, f"{PATH}/{row_id}")
        if row_id in expected:
            assert ids(item) == [row_id]
        else:
            check_error(item, 404, "not_found")


def test_item_ignores_other_list_parameters() -> None:
    item = get("limit=0&project_id=bad&deleted=include", None, PATH + "/009")
    assert ids(item) == [9]


def test_deleted_at_filters_with_deleted_values() -> None:
    assert ids(get("deleted_at=gt:2024-01-01")) == []
    assert ids(get("deleted_at=gt:2024-01-01&deleted=include")) == [9, 10]
    assert ids(get("deleted_at=eq:null&deleted=include")) == [1, 2, 3, 4, 5, 6]


def test_a_huge_offset_is_an_empty_page() -> None:
    assert get(f"offset={INT64_MAX}").body == b"[]"
    check_error(get(f"offset={INT64_MAX + 1}"), 400, "invalid_data", ["offset"])


class BrokenStore(MemoryStore):
    def list_rows(self, *args: Any) -> list[ProductionPlanStream]:
        raise RuntimeError("database is on fire: secret dsn postgresql://u:p@h/db")


def test_a_failing_store_is_a_bare_500(caplog: pytest.LogCaptureFixture) -> None:
    response = get(store=BrokenStore(WORLD))
    check_error(response, 500, "internal_error")
    assert b"fire" not in response.body
    assert b"Traceback" not in response.body
    assert "database is on fire" in caplog.text


def test_lone_surrogates_in_decoded_input_do_not_break_the_response() -> None:
    response = get([("project_id", "\ud800")])
    check_error(response, 400, "invalid_data", ["project_id"])
    assert "\ufffd" in response.body.decode("utf-8")


def test_messages_are_fixed_english_sentences() -> None:
    assert set(MESSAGES) == {"unauthorized", "invalid_data", "forbidden",
                             "precondition_failure", "not_found", "method_not_allowed",
                             "internal_error", "unavailable"}
    assert MESSAGES["invalid_data"] == "You provided invalid data. Check 'failures' for details."
    assert all(m[0].isupper() and m.endswith(".") for m in MESSAGES.values())


# -- warnings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "count", "phrase"),
    [
        ("", 0, None),
        ("deleted_at=eq:null", 0, None),
        ("deleted_at=in:null", 0, None),
        ("deleted_at=gt:2024-01-01", 1, "matches nothing"),
        ("deleted_at=eq:2024-01-01&deleted=exclude", 1, "matches nothing"),
        ("deleted_at=neq:null", 1, "matches nothing"),
        ("deleted_at=neq:2024-01-01", 0, None),  # NULL passes it: no effect, not empty
        ("deleted_at=gt:2024-01-01&deleted_at=lt:2025-01-01", 1, "deleted=exclude"),
        ("deleted_at=gt:2024-01-01&deleted=include", 0, None),
        ("deleted_at=gt:2024-01-01&deleted=only", 0, None),
        ("deleted_at=eq:null&deleted=only", 1, "deleted=only"),
        ("updated_at=gt:2024-01-01", 0, None),
    ],
)
def test_warnings(query: str, count: int, phrase: str | None) -> None:
    """SPEC §5's deleted_at advice, as one of the §8 warnings of Query.warnings."""
    found = parse_query(query, SCHEMA).warnings
    assert len(found) == count
    if phrase is not None:
        assert all(w["field"] == "deleted_at" for w in found)
        assert all(phrase in w["message"] and "matches nothing" in w["message"] for w in found)


# -- the oracle: SPEC §2 and §5 in the test's own words ----------------------------------------

Operand = int | datetime | date | None


@dataclass(frozen=True)
class Cond:
    field: str
    op: str
    operands: tuple[Operand, ...]


def day(d: date) -> tuple[datetime, datetime | None]:
    start = datetime(d.year, d.month, d.day, tzinfo=UTC)
    return start, (None if d == date.max else start + timedelta(days=1))


def is_day(x: Operand) -> bool:
    return isinstance(x, date) and not isinstance(x, datetime)


def equals(v: Any, x: Operand) -> bool:
    """SPEC: NULL equals null and nothing else; a day operand is D0 <= v < D1."""
    if x is None or v is None:
        return x is None and v is None
    if is_day(x):
        assert isinstance(x, date)
        d0, d1 = day(x)
        return bool(d0 <= v and (d1 is None or v < d1))
    return bool(v == x)


def holds(c: Cond, v: Any) -> bool:
    if c.op in ("eq", "in"):
        return any(equals(v, x) for x in c.operands)
    if c.op in ("neq", "nin"):
        return not any(equals(v, x) for x in c.operands)
    if v is None:
        return False
    x = c.operands[0]
    if c.op == "bt":
        return holds(Cond(c.field, "gte", c.operands[:1]), v) and holds(
            Cond(c.field, "lte", c.operands[1:]), v)
    if is_day(x):
        assert isinstance(x, date)
        d0, d1 = day(x)
        if c.op == "gt":
            return d1 is not None and v >= d1
        if c.op == "gte":
            return bool(v >= d0)
        if c.op == "lt":
            return bool(v < d0)
        return d1 is None or v < d1  # lte
    return bool({"gt": v > x, "gte": v >= x, "lt": v < x, "lte": v <= x}[c.op])


def bt_empty(a: Operand, b: Operand) -> bool:
    low = day(a)[0] if is_day(a) else a  # type: ignore[arg-type]
    if is_day(b):
        d1 = day(b)[1]  # type: ignore[arg-type]
        return d1 is not None and low >= d1  # type: ignore[operator]
    return bool(low > b)  # type: ignore[operator]


def may_see(world: World, user: User, slug: str, r: ProductionPlanStream) -> bool:
    """SPEC §5: through the project's company; view = own projects, view_other = the rest."""
    project = world.project_by_id.get(r.project_id)
    if project is None or project.company != slug:
        return False
    perms = user.memberships.get(slug, frozenset())
    own = user.id in (project.pm_id, project.account_id)
    return (own and VIEW in perms) or (not own and OTHER in perms)


def deleted_ok(deleted: str, r: ProductionPlanStream) -> bool:
    return {"exclude": r.deleted_at is None, "only": r.deleted_at is not None,
            "include": True}[deleted]


def expected_status(world: World, token: str, slug: str) -> tuple[int, User | None]:
    user = world.user_by_token.get(token)
    if user is None:
        return 401, None
    company = world.company_by_slug.get(slug)
    perms = user.memberships.get(slug)
    if company is None or perms is None or not ({VIEW, OTHER} & perms):
        return 403, user
    if not company.streams_enabled:
        return 412, user
    return 200, user


def oracle_rows(world: World, user: User, slug: str, conds: list[Cond], deleted: str
                ) -> list[ProductionPlanStream]:
    return [
        r for r in sorted(world.rows, key=lambda r: r.id)
        if may_see(world, user, slug, r) and deleted_ok(deleted, r)
        and all(holds(c, getattr(r, c.field)) for c in conds)
    ]


# -- generating valid requests ----------------------------------------------------------------

INT_FIELDS = ("project_id", "stream_id", "production_plan_id")
TIME_FIELDS = ("updated_at", "deleted_at")
OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "bt")
ZONES = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30)))


@st.composite
def conditions(draw: st.DrawFn, world: World) -> Cond:
    field = draw(st.sampled_from(INT_FIELDS + TIME_FIELDS))
    op = draw(st.sampled_from(OPS))
    operand: st.SearchStrategy[Operand]
    if field in INT_FIELDS:
        seen = sorted({getattr(r, field) for r in world.rows}) or [1]
        operand = st.sampled_from(seen) | st.sampled_from([0, 1, 2, -1, INT64_MAX, -(2**63)])
    else:
        seen_t = sorted({getattr(r, field) for r in world.rows} - {None}) or [T]
        days = st.sampled_from(BASE_DAYS) | st.sampled_from(
            [date.max, date.min, date(2024, 1, 2), date(2024, 6, 14)])
        operand = st.sampled_from(seen_t) | instants() | days
        if field == "deleted_at" and op in ("eq", "neq", "in", "nin"):
            operand = operand | st.none()
    count = {"in": 3, "nin": 3, "bt": 2}.get(op, 1)
    size = draw(st.integers(1, count)) if op in ("in", "nin") else count
    operands = tuple(draw(operand) for _ in range(size))
    if op == "bt":
        if bt_empty(*operands):
            operands = operands[::-1]
        assume(not bt_empty(*operands))
    return Cond(field, op, operands)


@st.composite
def written(draw: st.DrawFn, x: Operand, raw: bool) -> str:
    """One operand as a client might write it (SPEC §2 accepts all of these)."""
    if x is None:
        return "null"
    if isinstance(x, int):
        return draw(st.sampled_from(["", "0", "00"])) + str(x) if x >= 0 else str(x)
    if isinstance(x, datetime):
        zone = draw(st.sampled_from(ZONES))
        try:
            local = x.astimezone(zone)
        except OverflowError:
            local, zone = x, UTC
        text = local.strftime("%Y-%m-%dT%H:%M:%S")
        if local.year < 1000:
            text = f"{local.year:04d}" + text[text.index("-"):]
        if local.microsecond or draw(st.booleans()):
            text += "." + f"{local.microsecond:06d}"
        if zone is UTC:
            return text + draw(st.sampled_from(["Z", "", "+00:00", "-00:00"]))
        offset = local.strftime("%z")
        sign = offset[0]
        if sign == "+" and raw and draw(st.booleans()):
            sign = "+"  # left unencoded in a raw query: decodes to a space, read as '+'
        elif sign == "+":
            sign = "%2B" if raw else "+"
        return text + sign + offset[1:3] + ":" + offset[3:]
    assert isinstance(x, date)
    return x.isoformat()


@st.composite
def requests(draw: st.DrawFn, world: World) -> tuple[Any, list[Cond], str, int, int]:
    """(query in some input form, its conditions, deleted, limit, offset)."""
    conds = draw(st.lists(conditions(world), max_size=draw(st.sampled_from([1, 1, 3]))))
    deleted = draw(st.sampled_from([None, "exclude", "include", "only"]))
    limit = draw(st.none() | st.integers(1, 4) | st.just(100))
    offset = draw(st.none() | st.integers(0, 6) | st.just(INT64_MAX))
    raw = draw(st.booleans())
    pairs: list[tuple[str, str]] = []
    for c in conds:
        items = [draw(written(x, raw)) for x in c.operands]
        sep = draw(st.sampled_from([",", ", ", " ,"])) if raw else ","
        value = sep.join(items)
        if c.op == "eq" and draw(st.booleans()):
            pairs.append((c.field, value))
        else:
            pairs.append((c.field, f"{c.op}:{value}"))
    for name, v in (("deleted", deleted), ("limit", limit), ("offset", offset)):
        if v is not None:
            pairs.append((name, str(v)))
    pairs = draw(st.permutations(pairs))
    query: Any = pairs
    if raw:
        def enc(text: str) -> str:
            return quote(text, safe=":,%+").replace(" ", "+")
        query = "&".join(f"{name}={enc(value)}" for name, value in pairs)
    return query, conds, deleted or "exclude", limit or 100, offset or 0


def tokens(world: World) -> st.SearchStrategy[str]:
    return st.sampled_from([u.token for u in world.users] + ["tok-unknown"])


def slugs() -> st.SearchStrategy[str]:
    return st.sampled_from([*SLUGS, "ghost"])


@st.composite
def callers(draw: st.DrawFn, world: World) -> tuple[World, str, str]:
    """(world, token, company slug).  Mostly the world gains (or replaces) a user ``probe``
    who may view rows in one of its companies, often as some project's PM or Account, so
    that most requests reach the rows; otherwise any token and any slug."""
    if draw(st.integers(0, 4)) == 0:
        return world, draw(tokens(world)), draw(slugs())
    people = sorted(
        {p.pm_id for p in world.projects if p.pm_id is not None}
        | {p.account_id for p in world.projects if p.account_id is not None}
        | {1}
    )
    probe_id = draw(st.sampled_from(people))
    slug = draw(st.sampled_from([c.slug for c in world.companies]))
    perms = draw(st.sampled_from([{VIEW}, {OTHER}, {VIEW, OTHER}]))
    probe = User(probe_id, "tok-probe", {slug: perms})
    users = [u for u in world.users if u.id != probe_id and u.token != "tok-probe"]
    return World(world.companies, [*users, probe], world.projects, world.rows), "tok-probe", slug


@given(worlds(min_rows=4), st.data())
def test_list_agrees_with_the_oracle(world: World, data: st.DataObject) -> None:
    world, token, slug = data.draw(callers(world))
    query, conds, deleted, limit, offset = data.draw(requests(world))
    response = handle(MemoryStore(world), "GET", PATH, query, headers(token, slug))
    status, user = expected_status(world, token, slug)
    event("status", str(status))
    assert response.status == status, response.body
    if status != 200:
        return
    assert user is not None
    everything = oracle_rows(world, user, slug, conds, deleted)
    expected = everything[offset : offset + limit]
    event("rows matched", "none" if not everything else "some")
    event("page", "empty" if not expected else "cut" if len(expected) < len(everything) else "all")
    assert response.body == ("[" + ",".join(r.to_json() for r in expected) + "]").encode()


@given(worlds(min_rows=1), st.data())
def test_item_agrees_with_the_oracle(world: World, data: st.DataObject) -> None:
    world, token, slug = data.draw(callers(world))
    of_company = [r.id for r in world.rows if getattr(
        world.project_by_id.get(r.project_id), "company", None) == slug]
    row_id = data.draw(st.sampled_from(of_company * 3 + [r.id for r in world.rows]
                                       + [1, INT64_MAX]))
    deleted = data.draw(st.sampled_from(["exclude", "include", "only"]))
    query = "" if deleted == "exclude" and data.draw(st.booleans()) else f"deleted={deleted}"
    response = handle(MemoryStore(world), "GET", f"{PATH}/{row_id}", query, headers(token, slug))
    status, user = expected_status(world, token, slug)
    if status != 200:
        assert response.status == status
        return
    assert user is not None
    found = [r for r in oracle_rows(world, user, slug, [], deleted) if r.id == row_id]
    event("item", "found" if found else "404")
    if found:
        assert response.status == 200
        assert response.body == found[0].to_json().encode()
    else:
        check_error(response, 404, "not_found")


@given(worlds(min_rows=2, max_rows=40), st.data())
def test_paging_yields_every_row_once_in_id_order(world: World, data: st.DataObject) -> None:
    user = data.draw(st.sampled_from(world.users))
    slug = data.draw(st.sampled_from([c.slug for c in world.companies]))
    store = MemoryStore(world)
    query, conds, deleted, _, _ = data.draw(requests(world))
    if isinstance(query, str):
        query = "&".join(p for p in query.split("&") if not p.startswith(("limit=", "offset=")))
    else:
        query = [(n, v) for n, v in query if n not in ("limit", "offset")]
    full = handle(store, "GET", PATH, query, headers(user.token, slug))
    if full.status != 200:
        return
    everything = [r["id"] for r in full.json()]
    assert everything == sorted(everything)
    limit = data.draw(st.integers(1, 7))
    seen: list[int] = []
    for page_number in range(100):
        pq = ([*query, ("limit", str(limit)), ("offset", str(page_number * limit))]
              if isinstance(query, list)
              else f"{query}&limit={limit}&offset={page_number * limit}")
        page = [r["id"] for r in handle(store, "GET", PATH, pq, headers(user.token, slug)).json()]
        assert len(page) <= limit
        seen.extend(page)
        if len(page) < limit:
            break
    assert seen == everything
    assert all(may_see(world, user, slug, r) for r in world.rows if r.id in set(seen))
    assert everything == [r.id for r in oracle_rows(world, user, slug, conds, deleted)]


# -- invalid requests -------------------------------------------------------------------------

BAD_QUERY_PARAMS: list[tuple[str, str]] = [
    ("limit", "0"), ("limit", "101"), ("limit", "abc"), ("limit", "eq:5"), ("limit", ""),
    ("offset", "-1"), ("offset", str(INT64_MAX + 1)), ("offset", "1.5"),
    ("deleted", "maybe"), ("deleted", "EXCLUDE"), ("deleted", "in:only"),
    ("project_id", "gt:abc"), ("project_id", "foo:1"), ("project_id", ""), ("project_id", "in:"),
    ("project_id", f"eq:{INT64_MAX + 1}"), ("project_id", "bt:5,1"), ("project_id", "null"),
    ("stream_id", "EQ:1"), ("stream_id", "in:1,,2"), ("stream_id", "in:" + ",".join(["1"] * 101)),
    ("updated_at", "gt:2024-13-01"), ("updated_at", "eq:null"), ("updated_at", "2024-01-01T25:00Z"),
    ("updated_at", "bt:2024-01-02,2024-01-01"), ("deleted_at", "gt:null"),
    ("deleted_at", "lt:2024-01-01T00:00:00.1234567Z"), ("production_plan_id", "1 2"),
    ("production_plan_id", "x" * 4097),
]


@given(worlds(), st.data())
def test_invalid_requests_get_the_right_4xx(world: World, data: st.DataObject) -> None:
    store = MemoryStore(world)
    kind = data.draw(st.sampled_from(["token", "header", "query"]))
    good_user = data.draw(st.sampled_from(world.users))
    slug = data.draw(slugs())
    status, _ = expected_status(world, good_user.token, slug)
    if kind == "token":
        auth = data.draw(st.sampled_from([
            [], [("Authorization", "Bearer tok-unknown")], [("Authorization", good_user.token)],
            [("Authorization", f"Basic {good_user.token}")], [("Authorization", "Bearer ")],
            [("Authorization", f"Bearer {good_user.token}")] * 2,
            [("Authorization", f"Bearer {good_user.token} x")],
        ]))
        response = handle(store, "GET", PATH, "limit=0", [*auth, *headers(None, slug)])
        check_error(response, 401, "unauthorized")
    elif kind == "header":
        company = data.draw(st.sampled_from([None, "", slug]))
        version = data.draw(st.sampled_from([None, "", "2024-06-14", "2024-06-15x", "v1"]))
        response = handle(store, "GET", PATH, "limit=0", headers(good_user.token, company, version))
        fields = ([] if company == slug else ["Wethod-Company"]) + ["Wethod-Version"]
        check_error(response, 400, "invalid_data", fields)
    else:
        bad = data.draw(st.lists(st.sampled_from(BAD_QUERY_PARAMS), min_size=1, max_size=4,
                                 unique_by=lambda p: p[0]))
        query = "&".join(f"{n}={quote(v, safe=':,')}" for n, v in bad)
        response = handle(store, "GET", PATH, query, headers(good_user.token, slug))
        if status == 200:
            check_error(response, 400, "invalid_data", [n for n, _ in bad])
        else:
            check_error(response, status, {403: "forbidden", 412: "precondition_failure"}[status])


# -- the store protocol -----------------------------------------------------------------------


def test_memory_store_implements_the_protocol_signatures() -> None:
    """Each Store method exists on MemoryStore with the Protocol's parameter names (a
    runtime-checkable isinstance() would only look at the names of the methods)."""
    import inspect

    store: Store = STORE  # and mypy checks the types
    for name, member in vars(Store).items():
        if name.startswith("_") or not callable(member):
            continue
        expected = list(inspect.signature(member).parameters)
        assert list(inspect.signature(getattr(type(store), name)).parameters) == expected, name


def test_row_order_in_the_world_does_not_matter() -> None:
    """SPEC §6: row order is irrelevant — a store built from the rows in reverse answers
    every request byte for byte the same (pages are by id, not by load order)."""
    reversed_world = World(WORLD.companies, WORLD.users, WORLD.projects, WORLD.rows[::-1])
    other = MemoryStore(reversed_world)
    requests = [("", PATH), ("limit=1&offset=1", PATH), ("deleted=include", PATH),
                ("limit=2&deleted=only", PATH), ("", PATH + "/1"), ("deleted=only", PATH + "/3")]
    for user in WORLD.users:
        for company in WORLD.companies:
            for query, path in requests:
                h = headers(user.token, company.slug)
                a = handle(STORE, "GET", path, query, h)
                b = handle(other, "GET", path, query, h)
                assert (a.status, a.body) == (b.status, b.body), (user.token, query, path)
