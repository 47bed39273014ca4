"""`diffdash serve`'s guards, against a real server process and real WebSocket clients on 127.0.0.1: other web
pages refused, terminal sizes clamped, sessions capped, and no dashboard process outliving its socket or the
server (SIGTERM and SIGINT)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser_support import free_port
from runs_data import RECORDED

from diffdash.commands.serve_guard import MAX_COLUMNS, MAX_ROWS, clamp_size, origin_allowed

aiohttp = pytest.importorskip("aiohttp", reason="the serve extra is not installed: pip install 'diffdash[serve]'")
pytest.importorskip("textual_serve", reason="the serve extra is not installed: pip install 'diffdash[serve]'")

STARTUP_S = 120.0  # generous: a busy two-core machine starts Python, textual and aiohttp slowly


def test_origin_and_size_rules():
    own = "http://127.0.0.1:8000"
    assert origin_allowed("http://127.0.0.1:8000", own)
    assert origin_allowed("http://localhost:9000", own), "an SSH tunnel's local page"
    assert not origin_allowed("http://evil.example", own)
    assert not origin_allowed("http://evil.example:8000", own)
    assert not origin_allowed(None, own) and not origin_allowed("null", own)
    assert origin_allowed("https://dash.example.org", "https://dash.example.org")
    assert not origin_allowed("http://dash.example.org", "https://dash.example.org")
    assert clamp_size("100000", "100000") == (MAX_COLUMNS, MAX_ROWS)
    assert clamp_size("-5", "x") == (20, 24)
    assert clamp_size(120, 36) == (120, 36)


def children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is `pid`, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name))
            if stat is not None and stat[1] == pid and stat[0] != "Z":
                found.append(int(entry.name))
    return found


def read_stat(pid: int) -> tuple[str, int] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    stat = read_stat(pid)
    return stat is not None and stat[0] != "Z"


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


@contextlib.contextmanager
def serving(tmp_path: Path, *extra: str):
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "diffdash", "serve", "small", "--runs-dir", str(RECORDED), "--port", str(port), *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: answers(port) or proc.poll() is not None, STARTUP_S, "serve answers")
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        yield proc, port
    finally:
        seen = children(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in seen:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        proc.wait(10)
        log.close()


def answers(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


async def connect(session, port: int, origin: str | None, size: str = ""):
    headers = {"Origin": origin} if origin else {}
    return await session.ws_connect(f"http://127.0.0.1:{port}/ws{size}", headers=headers, autoping=True)


async def first_bytes(ws, timeout: float = 60.0) -> bytes:
    """The first terminal output of the session's dashboard (it has started and drawn)."""
    async with asyncio.timeout(timeout):
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY and msg.data:
                return msg.data
    raise AssertionError("the socket closed before the dashboard drew anything")


def columns_of(pid: int) -> str | None:
    env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return next((v.split(b"=", 1)[1].decode() for v in env if v.startswith(b"COLUMNS=")), None)


@pytest.mark.slow
def test_other_origins_refused_sizes_clamped_sessions_capped_children_end_with_socket_and_sigterm(tmp_path):
    with serving(tmp_path, "--max-sessions", "2") as (proc, port):
        own = f"http://127.0.0.1:{port}"

        async def scenario() -> tuple[list[int], int]:
            async with aiohttp.ClientSession() as session:
                for origin in ("http://evil.example", f"http://evil.example:{port}", None):
                    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                        await connect(session, port, origin)
                    assert refused.value.status == 403, origin
                assert children(proc.pid) == [], "a refused socket starts no dashboard"
                big = await connect(session, port, own, "?width=100000&height=100000")
                await first_bytes(big)
                (first,) = children(proc.pid)
                assert columns_of(first) == str(MAX_COLUMNS), "the terminal size is clamped"
                await big.send_json(["resize", {"width": 10**9, "height": 10**9}])
                second = await connect(session, port, own)
                await first_bytes(second)
                with pytest.raises(aiohttp.WSServerHandshakeError) as full:
                    await connect(session, port, own)
                assert full.value.status == 503, "a third session is over --max-sessions 2"
                pids = children(proc.pid)
                assert len(pids) == 2
                await big.close()
                await asyncio.to_thread(wait_for, lambda: not alive(first), 15, "the closed socket's dashboard ends")
                assert first not in children(proc.pid)
                (left,) = children(proc.pid)
                t0 = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                await asyncio.to_thread(proc.wait, 15)
                return [left], time.monotonic() - t0

        left, took = asyncio.run(scenario())
        assert proc.returncode is not None and took < 10, f"serve ended {took:.1f} s after SIGTERM"
        wait_for(lambda: not any(alive(p) for p in left), 5, "no dashboard outlives serve")


@pytest.mark.slow
def test_sigint_ends_serve_and_its_dashboards(tmp_path):
    with serving(tmp_path) as (proc, port):

        async def scenario() -> list[int]:
            async with aiohttp.ClientSession() as session:
                ws = await connect(session, port, f"http://localhost:{port}")
                await first_bytes(ws)
                pids = children(proc.pid)
                proc.send_signal(signal.SIGINT)
                await asyncio.to_thread(proc.wait, 15)
                return pids

        pids = asyncio.run(scenario())
        assert len(pids) == 1
        wait_for(lambda: not any(alive(p) for p in pids), 5, "no dashboard orphaned by Ctrl-C")


def test_public_says_there_is_no_authentication(tmp_path):
    with serving(tmp_path, "--host", "127.0.0.1", "--public"):
        pass
    assert "no authentication" in (tmp_path / "serve.log").read_text()
