"""The reference app hosted by real WSGI servers, with no private imports (SPEC §9)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from opfilter.streams import World, demo_store, demo_world
from opfilter.streams.demo import default_demo_path
from opfilter.testing import check_server

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache directory holding the demo database, built once for the module."""
    root = tmp_path_factory.mktemp("cache")
    store, built = demo_store(root / "opfilter" / default_demo_path().name)
    store.close()
    assert built
    return root


@pytest.fixture(scope="module")
def world() -> World:
    """The demo world, built once for the module (it takes seconds)."""
    return demo_world()


@pytest.fixture(params=["gunicorn", "waitress"])
def server(request: pytest.FixtureRequest, cache: Path) -> Iterator[str]:
    port = _free_port()
    bin_dir = Path(sys.executable).parent
    if request.param == "gunicorn":
        cmd = [str(bin_dir / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
               "opfilter.server:demo_app()"]
    else:
        cmd = [str(bin_dir / "waitress-serve"), "--listen", f"127.0.0.1:{port}",
               "--call", "opfilter.server:demo_app"]
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url + "/openapi.json", proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_demo_app_conforms_over_http(server: str, world: World) -> None:
    check_server(server, world, max_examples=60)
