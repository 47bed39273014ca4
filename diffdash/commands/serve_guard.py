"""textual-serve's server with the guards `diffdash serve` needs: who may connect, how big, how many, and
that no dashboard process outlives its browser tab or the server.

textual-serve accepts a WebSocket from any page (a browser lets every site open one to 127.0.0.1, and the
dashboard's text comes back to that site), takes the terminal size from the URL as given (a 100000 x 100000
terminal grew a child to 4 GB) and starts a process per socket without limit. Here:

- the socket's `Origin` must be the served page's own (or a page on this machine's loopback address, which is
  what an SSH tunnel gives); other origins, or none, get 403 before any process starts;
- the terminal size is clamped, at the start and on every resize;
- at most `max_sessions` dashboards run at once; more get 503;
- each dashboard runs in its own process group with a parent-death signal: when its socket closes it is asked
  to quit, then terminated, then killed; SIGTERM or SIGINT to the server does the same to all of them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import shlex
import signal
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web
from aiohttp.web_runner import GracefulExit
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from diffdash.distributed.launch import die_with_parent

log = logging.getLogger("textual-serve")

MIN_COLUMNS, MAX_COLUMNS = 20, 400
MIN_ROWS, MAX_ROWS = 6, 150
QUIT_GRACE_S = 3.0  # a dashboard asked to quit that has not, is terminated, then killed after as long again
SHUTDOWN_TIMEOUT_S = 2.0


def clamp_size(width: object, height: object) -> tuple[int, int]:
    """A terminal size any dashboard can draw: numbers out of range or unreadable are brought inside."""
    w = to_int(str(width), 80)
    h = to_int(str(height), 24)
    return min(max(w, MIN_COLUMNS), MAX_COLUMNS), min(max(h, MIN_ROWS), MAX_ROWS)


def origin_allowed(origin: str | None, public_url: str) -> bool:
    """The page's own origin (scheme, host and port of `public_url`), or any page served from loopback (an
    SSH tunnel's localhost:PORT). A socket without an Origin header is refused too: every browser sends one."""
    if not origin:
        return False
    try:
        got, own = urlsplit(origin), urlsplit(public_url)
        if (got.scheme, got.hostname, got.port) == (own.scheme, own.hostname, own.port):
            return True
        host = got.hostname or ""
        return got.scheme in ("http", "https") and (host == "localhost" or ipaddress.ip_address(host).is_loopback)
    except ValueError:
        return False


class DashboardProcess(AppService):
    """One browser tab's `diffdash watch`: started without a shell, in its own process group, tied to us."""

    async def _open_app_process(self, width: int = 80, height: int = 24):
        self._process = process = await asyncio.create_subprocess_exec(
            *shlex.split(self.command),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            start_new_session=True,
            preexec_fn=lambda: die_with_parent(signal.SIGTERM),  # noqa: PLW1509 - a killed server takes them
        )
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def signal_group(self, sig: int) -> None:
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, sig)

    async def end(self) -> None:
        """Ask it to quit, then terminate, then kill: it is gone when this returns."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self.stop()), QUIT_GRACE_S)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self._process is None or self._process.returncode is not None:
                break
            self.signal_group(sig)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._process.wait(), QUIT_GRACE_S)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None


class GuardedServer(Server):
    def __init__(self, command: str, *, max_sessions: int, trust_host: bool = False, **kwargs) -> None:
        """`trust_host`: also accept an Origin naming the address the browser used (the Host header), for
        --public without --public-url, where the page's own address is not known in advance."""
        super().__init__(command, **kwargs)
        self.max_sessions = max_sessions
        self.trust_host = trust_host
        self.sessions: set[DashboardProcess] = set()

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        origin = request.headers.get("Origin")
        own = [self.public_url] + ([f"{request.scheme}://{request.host}"] if self.trust_host else [])
        if not any(origin_allowed(origin, url) for url in own):
            log.warning("refused a WebSocket from origin %r (not this page's)", origin)
            raise web.HTTPForbidden(text="this page's own origin only")
        if len(self.sessions) >= self.max_sessions:
            log.warning("refused a WebSocket: %d dashboards already open (--max-sessions)", len(self.sessions))
            raise web.HTTPServiceUnavailable(text=f"at most {self.max_sessions} dashboards at once")
        width, height = clamp_size(request.query.get("width", "80"), request.query.get("height", "24"))
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=1 << 20)
        service = DashboardProcess(
            self.command,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=self.debug,
        )
        self.sessions.add(service)
        try:
            await websocket.prepare(request)
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            pass
        except Exception as error:  # noqa: BLE001 - one bad socket must not end the server
            log.warning("a dashboard session ended with %s", error)
        finally:
            await service.end()
            self.sessions.discard(service)
            with contextlib.suppress(Exception):
                await websocket.close()
        return websocket

    async def _process_messages(self, websocket: web.WebSocketResponse, app_service: AppService) -> None:
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = message.json()
                kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            except (ValueError, TypeError, IndexError, KeyError):
                continue
            if kind == "stdin" and isinstance(data, str):
                await app_service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await app_service.set_terminal_size(*clamp_size(data.get("width"), data.get("height")))
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()

    def kill_all(self) -> None:
        """Every dashboard's process group gets SIGKILL: the server is leaving now."""
        for service in list(self.sessions):
            service.signal_group(signal.SIGKILL)

    async def on_shutdown(self, app: web.Application) -> None:
        for service in list(self.sessions):
            service.signal_group(signal.SIGTERM)
        await asyncio.sleep(0)

    def request_exit(self) -> None:
        for service in list(self.sessions):
            service.signal_group(signal.SIGTERM)
        raise GracefulExit()

    def serve(self, debug: bool = False) -> None:
        """As textual-serve's, with a short shutdown: a dashboard that ignores SIGTERM is killed, not waited for."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.add_signal_handler(signal.SIGINT, self.request_exit)
        loop.add_signal_handler(signal.SIGTERM, self.request_exit)
        try:
            web.run_app(
                self._make_app(),
                host=self.host,
                port=self.port,
                handle_signals=False,
                loop=loop,
                print=lambda *args: None,
                shutdown_timeout=SHUTDOWN_TIMEOUT_S,
            )
        finally:
            self.kill_all()
