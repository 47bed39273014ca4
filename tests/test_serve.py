"""`diffdash serve`: the dashboard in a browser through textual-serve, on recorded runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from browser_support import Browser, chromium_path, free_port, start_serve
from click.testing import CliRunner
from runs_data import RECORDED

from diffdash.cli import cli
from diffdash.commands.serve_command import app_command, is_loopback

pytest.importorskip("textual_serve", reason="the serve extra is not installed: pip install 'diffdash[serve]'")

BRAILLE = {chr(c) for c in range(0x2801, 0x2900)}  # the chart's dots (plotext draws lines in braille)


def invoke(*args: str):
    return CliRunner().invoke(cli, ["serve", "--runs-dir", str(RECORDED), *args])


def test_only_loopback_without_public_and_clear_errors():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("myhost")
    result = invoke("small", "--host", "0.0.0.0")
    assert result.exit_code == 2 and "no authentication" in result.output and "ssh -L" in result.output
    result = invoke("small", "wide")
    assert result.exit_code == 2 and "--compare" in result.output
    result = invoke("--compare", "small")
    assert result.exit_code == 2 and "at least 2" in result.output
    result = invoke("nope")
    assert result.exit_code == 2 and "no run matches" in result.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = invoke("small", "--port", str(taken.getsockname()[1]))
    assert result.exit_code == 2 and "choose another --port" in result.output


def test_each_browser_session_runs_the_app_with_half_cell_grids():
    command = app_command(Path("/r u n s"), ["small", "wide"], compare=True)
    assert command.endswith("-m diffdash compare --runs-dir '/r u n s' --image-mode halfcell small wide")
    assert " watch " in app_command(Path("/runs"), ["small"], compare=False)


def wait_until_served(proc, url: str, timeout: float = 240.0) -> str:  # generous: a busy machine starts slowly
    # No proxy for loopback: urlopen's shared opener keeps whatever proxy variables were set when it was first
    # used in this process (a download test points them at a closed port on purpose).
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early:\n{proc.stdout.read().decode(errors='replace')}")
        try:
            with opener.open(url, timeout=2) as r:
                return r.read().decode()
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"no answer from {url} within {timeout} s")


@pytest.fixture
def served_small():
    port = free_port()
    proc = start_serve(["small", "--runs-dir", str(RECORDED), "--port", str(port)])
    try:
        yield proc, f"http://127.0.0.1:{port}/"
    finally:  # the server, then any app process it started (they share the group start_serve made)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def test_serve_answers_on_a_free_localhost_port(served_small):
    proc, url = served_small
    page = wait_until_served(proc, url)
    assert "diffdash watch small" in page, "the page is titled with the command it serves"
    assert f'data-session-websocket-url="ws://127.0.0.1:{url.split(":")[2].rstrip("/")}/ws"' in page


@pytest.mark.slow
@pytest.mark.skipif(chromium_path() is None, reason="no chromium on PATH (Debian: apt-get install chromium)")
def test_the_dashboard_in_headless_chromium(served_small, tmp_path):
    proc, url = served_small
    wait_until_served(proc, url)
    shot = Path(os.environ.get("DIFFDASH_SCREENSHOT_DIR", tmp_path)) / "serve_small.png"

    async def drive() -> tuple[str, str]:
        async with Browser(1280, 800) as browser:
            await browser.open(url)
            text = await browser.wait_for_text(("small", "finished", "epoch 3"), timeout=240)
            await asyncio.sleep(1.0)  # let the canvas draw the last frame before the screenshot
            await browser.screenshot(shot)
            return text, await browser.evaluate("document.body.className")

    text, body_class = asyncio.run(drive())
    assert "-first-byte" in body_class, "the terminal received the app's output and is shown"
    header = next(line for line in text.splitlines() if "finished" in line)
    assert header.split()[0] == "small", f"the run's name leads the header: {header!r}"
    assert len(BRAILLE & set(text)) > 20 and "┤" in text, "the loss chart is drawn (axis ticks and braille lines)"
    from PIL import Image

    with Image.open(shot) as img:
        assert img.size == (1280, 800) or img.size[0] >= 1000
        assert len(img.convert("RGB").getcolors(1 << 20)) > 50, "the screenshot is not blank"
