"""Headless Chromium driven over the DevTools protocol, for the `diffdash serve` browser test.

A few protocol calls over one websocket (aiohttp, which textual-serve already brings) instead of a
browser-automation framework: open a page, read what its terminal received, take a screenshot.
The page's terminal draws on a canvas, so its text is not in the DOM; a script installed before the
page loads keeps a copy of every byte the terminal's websocket delivers.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

TEE_WEBSOCKET = """
(() => {
  const Native = window.WebSocket;
  window.__terminalBytes = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        if (e.data instanceof ArrayBuffer) window.__terminalBytes.push(new Uint8Array(e.data));
      });
    }
  };
  window.__terminalText = () => {
    const all = window.__terminalBytes;
    const out = new Uint8Array(all.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of all) { out.set(a, at); at += a.length; }
    return new TextDecoder().decode(out);
  };
})();
"""
ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def terminal_text(raw: str) -> str:
    """What the terminal received, with escape sequences (cursor moves, colours) taken out."""
    return ANSI.sub("", raw)


class Browser:
    """One headless Chromium with one page, closed (process and profile) on exit."""

    def __init__(self, width: int = 1280, height: int = 800):
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="diffdash-chromium-")
        self.proc: subprocess.Popen | None = None
        self.session: Any = None
        self.ws: Any = None
        self._id = 0

    async def __aenter__(self) -> Browser:
        import aiohttp

        exe = chromium_path()
        assert exe, "no chromium on PATH"
        args = [exe, "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--no-first-run",
                "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
                f"--window-size={self.width},{self.height}", "about:blank"]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().count("\n") >= 1):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium did not start its DevTools server")
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        self.session = aiohttp.ClientSession()
        async with self.session.get(f"http://127.0.0.1:{port}/json/list") as r:
            pages = [t for t in await r.json() if t["type"] == "page"]
        self.ws = await self.session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)
        await self.call("Page.enable")
        await self.call("Page.addScriptToEvaluateOnNewDocument", source=TEE_WEBSOCKET)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.session is not None:
            await self.session.close()
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        await self.ws.send_str(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads((await self.ws.receive()).data)
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    async def open(self, url: str) -> None:
        await self.call("Page.navigate", url=url)

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def wait_for_text(self, needles: tuple[str, ...], timeout: float = 60.0) -> str:
        """Poll the terminal's received text until every needle is there (or the time is up)."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            raw = await self.evaluate("window.__terminalText ? window.__terminalText() : ''") or ""
            text = terminal_text(raw)
            if all(n in text for n in needles):
                return text
            await asyncio.sleep(0.5)
        return text

    async def screenshot(self, path: Path) -> Path:
        data = (await self.call("Page.captureScreenshot", format="png"))["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """`diffdash serve ...` in its own process (and process group, so its app processes end with it)."""
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "diffdash", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
