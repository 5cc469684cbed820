"""A throwaway PostgreSQL cluster for the tests.

    python tests/pgcluster.py start DIR    # prints the DSN; DIR is created (or reset)
    python tests/pgcluster.py stop DIR     # stops the server and removes DIR

``initdb``, ``pg_ctl`` and ``postgres`` refuse to run as root, so as root they run as the
``postgres`` user (``runuser -u postgres --``; set ``OPFILTER_PG_USER`` to use another),
on a data directory owned by that user.  The server listens on a unix socket in DIR only
(``listen_addresses=''``), so there are no port collisions; durability is switched off
(``fsync=off``), since the cluster lives for one test session.  A stale DIR (a previous
run killed before ``stop``) is stopped and wiped before the new cluster is made.

The binaries are looked for on ``PATH``, then in ``/usr/lib/postgresql/*/bin`` and
``/usr/local/pgsql/bin``; when they are missing, :func:`start` raises
:class:`PostgresUnavailable`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Cluster", "PostgresUnavailable", "find_bin_dir", "start", "stop"]

DATABASE = "opfilter_test"
_SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin")


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries (or a way to run them) are not installed here."""


@dataclass(frozen=True)
class Cluster:
    """A running cluster: its directory (data in ``data/``, socket in ``sock/``) and DSN."""

    base: Path
    bin_dir: Path
    dsn: str

    def stop(self) -> None:
        stop(self.base)

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server (``pg_ctl stop -m mode``) but keep the cluster, for outage
        tests; :meth:`start_server` starts it again."""
        prefix, _ = _as_user()
        result = _run([*prefix, str(self.bin_dir / "pg_ctl"), "-D", str(self.base / "data"),
                       "-m", mode, "-w", "-t", "30", "stop"], timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed: {result.stdout}\n{result.stderr}")

    def start_server(self, timeout: float = 60) -> None:
        """Start the server of a cluster stopped by :meth:`stop_server`; returns once it
        accepts connections."""
        _pg_ctl_start(self.bin_dir, self.base, timeout)


def find_bin_dir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``."""
    found = shutil.which("pg_ctl")
    candidates = [str(Path(found).resolve().parent)] if found else []
    candidates += [*sorted(glob.glob(_SEARCH[0]), reverse=True), _SEARCH[1]]
    for c in candidates:
        d = Path(c)
        if all((d / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return d
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH or in "
        + ", ".join(_SEARCH)
    )


def _as_user() -> tuple[list[str], str | None]:
    """The command prefix to run server binaries, and the user owning the files."""
    if os.geteuid() != 0:
        return [], None
    user = os.environ.get("OPFILTER_PG_USER", "postgres")
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailable("running as root, but 'runuser' is not installed")
    try:
        import pwd

        pwd.getpwnam(user)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, and there is no {user!r} user to run PostgreSQL as"
        ) from None
    return [runuser, "-u", user, "--"], user


def _run(cmd: list[str], *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, check=False, cwd="/",
        stdin=subprocess.DEVNULL,
    )


def _dsn(sock: Path, dbname: str) -> str:
    return f"host={sock} port=5432 user=postgres dbname={dbname}"


def _log_tail(base: Path) -> str:
    try:
        return (base / "server.log").read_text(errors="replace")[-2000:]
    except OSError:
        return ""


def stop(base: Path | str, *, remove: bool = True) -> None:
    """Stop the cluster in ``base`` (if one runs there) and remove the directory."""
    base = Path(base)
    data = base / "data"
    if (data / "postmaster.pid").exists():
        with contextlib.suppress(PostgresUnavailable, subprocess.TimeoutExpired):
            prefix, _ = _as_user()
            pg_ctl = str(find_bin_dir() / "pg_ctl")
            result = _run([*prefix, pg_ctl, "-D", str(data), "-m", "fast", "-w", "-t", "30",
                           "stop"], timeout=60)
            if result.returncode != 0 and (data / "postmaster.pid").exists():
                _run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                     timeout=60)
    if remove:
        shutil.rmtree(base, ignore_errors=True)


def start(base: Path | str | None = None, *, timeout: float = 60) -> Cluster:
    """Create and start a cluster in ``base`` (default: a new temporary directory) and
    create the database ``opfilter_test`` in it; returns once it accepts connections."""
    bin_dir = find_bin_dir()
    prefix, user = _as_user()
    if base is None:
        base = Path(tempfile.mkdtemp(prefix="opfilter-pg-"))
    else:
        base = Path(base).resolve()
        if base.exists():
            stop(base)  # a stale cluster from a killed run
        base.mkdir(parents=True)
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if user is not None:
        for path in (base, sock):
            shutil.chown(path, user)
    base.chmod(0o755)
    sock.chmod(0o700)

    init = _run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                 "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")
    log = base / "server.log"
    if user is not None:
        log.touch()
        shutil.chown(log, user)
    try:
        _pg_ctl_start(bin_dir, base, timeout)
    except RuntimeError:
        stop(base)
        raise
    try:
        _create_database(sock, timeout)
    except BaseException:
        stop(base)
        raise
    return Cluster(base, bin_dir, _dsn(sock, DATABASE))


def _pg_ctl_start(bin_dir: Path, base: Path, timeout: float) -> None:
    prefix, _ = _as_user()
    options = (
        f"-k {base / 'sock'} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=20 -c shared_buffers=16MB"
    )
    started = _run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(base / "data"), "-l",
                    str(base / "server.log"), "-o", options, "-w", "-t", str(int(timeout)),
                    "start"], timeout=timeout + 30)
    if started.returncode != 0:
        raise RuntimeError(f"pg_ctl start failed ({started.returncode}):\n{started.stdout}\n"
                           f"{started.stderr}\n{_log_tail(base)}")


def _create_database(sock: Path, timeout: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(_dsn(sock, "postgres"), autocommit=True, connect_timeout=5) as c:
                c.execute(f'CREATE DATABASE "{DATABASE}"')
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python tests/pgcluster.py start|stop DIR", file=sys.stderr)
        return 2
    command, directory = argv
    if command == "stop":
        stop(directory)
        return 0
    try:
        cluster = start(directory)
    except PostgresUnavailable as e:
        print(f"PostgreSQL is not available: {e}", file=sys.stderr)
        return 1
    print(cluster.dsn)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
