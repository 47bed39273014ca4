"""`diffdash serve`: the dashboard (`watch`) or `compare` in a web browser, through textual-serve.

textual-serve starts one process per browser tab running the command it was given, with Textual's web
driver in between, so the browser shows exactly the terminal app. Terminal image protocols (sixel,
kitty) do not reach a browser, so the grids are forced to half-cell blocks. There is no
authentication: anyone who can open the page sees the runs and can start a dashboard process, so
only loopback addresses are served unless --public says otherwise. The guards against other web pages,
huge terminals, too many tabs and orphaned dashboards are in `serve_guard`.
"""

from __future__ import annotations

import ipaddress
import shlex
import socket
import sys
from pathlib import Path

import click

from diffdash.commands.common import find_run, find_runs, runs_dir_option

INSTALL_HINT = "pip install 'diffdash[serve]'"
BROWSER_IMAGE_MODE = "halfcell"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def app_command(runs_root: Path, run_ids: list[str], compare: bool) -> str:
    """The shell command textual-serve runs per browser session: this Python, this diffdash, these runs."""
    args = [sys.executable, "-m", "diffdash", "compare" if compare else "watch", "--runs-dir", str(runs_root)]
    args += ["--image-mode", BROWSER_IMAGE_MODE, *run_ids]
    return shlex.join(args)


def check_port_free(host: str, port: int) -> None:
    """Refuse a taken port up front with one line, rather than textual-serve's traceback after its banner."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise click.BadParameter(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}): choose another --port", param_hint="--port"
            ) from None


@click.command("serve")
@click.argument("run_refs", metavar="[RUN | --compare RUN RUN...]", nargs=-1)
@click.option("--compare", is_flag=True, help="Serve `compare` on the runs given instead of one run's dashboard.")
@runs_dir_option
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--public",
    is_flag=True,
    help="Allow a --host other than loopback. There is no authentication: anyone who reaches the port sees the runs.",
)
@click.option("--public-url", default=None, help="The URL browsers use to reach this server (behind a proxy).")
@click.option(
    "--max-sessions",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Dashboards open at once (one process per browser tab); more tabs are refused.",
)
def serve_command(
    run_refs: tuple[str, ...],
    compare: bool,
    runs_dir: Path | None,
    port: int,
    host: str,
    public: bool,
    public_url: str | None,
    max_sessions: int = 4,
) -> None:
    """Serve the dashboard of RUN (default: latest), or `compare` on runs, in a web browser.

    \b
    diffdash serve latest                      then open http://127.0.0.1:8000
    diffdash serve --compare small wide --port 8001
    From another machine, tunnel instead of --public (no authentication):
      ssh -L 8000:localhost:8000 trainhost    then open http://localhost:8000
    Sample grids are drawn as half-cell blocks (terminal image protocols do not reach a browser).
    """
    if not public and not is_loopback(host):
        raise click.BadParameter(
            f"{host} is reachable from other machines and the page has no authentication; add --public if "
            "that is what you want, or keep 127.0.0.1 and use an SSH tunnel: ssh -L 8000:localhost:8000 HOST",
            param_hint="--host",
        )
    if len(run_refs) > 1 and not compare:
        raise click.UsageError("the dashboard shows one run: give one RUN, or --compare RUN RUN... to compare runs")
    try:
        from diffdash.commands.serve_guard import GuardedServer
    except ImportError:
        raise click.UsageError(f"diffdash serve needs the textual-serve package: {INSTALL_HINT}") from None
    runs = find_runs(runs_dir, run_refs, least=2) if compare else [find_run(runs_dir, (run_refs or ("latest",))[0])]
    check_port_free(host, port)
    root = runs[0].path.parent
    command = app_command(root.resolve(), [r.id for r in runs], compare=compare)
    title = f"diffdash {'compare' if compare else 'watch'} {' '.join(r.id for r in runs)}"
    shown_host = f"[{host}]" if ":" in host else host
    if public:
        click.secho(
            f"warning: --public serves {host}:{port} with no authentication: anyone who reaches it sees these runs",
            fg="yellow",
            err=True,
        )
    url = public_url or f"http://{shown_host}:{port}"
    GuardedServer(
        command, max_sessions=max_sessions, trust_host=public and public_url is None, host=host, port=port,
        title=title, public_url=url,
    ).serve()  # fmt: skip


commands = [serve_command]
