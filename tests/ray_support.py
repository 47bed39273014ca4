"""A real two-node Ray cluster on this machine for the study executor tests: a head (`ray start --head`) and a
second node (`ray start --address ... --block`, in its own process group so a test can kill that node alone),
one CPU each, a small object store, no dashboard. `start_ray` raises RayUnavailable with the reason."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

STORE = str(100 * 1024 * 1024)
SMALL = ["--num-cpus", "1", "--object-store-memory", STORE, "--disable-usage-stats"]


class RayUnavailable(RuntimeError):
    pass


@dataclass
class RayCluster:
    address: str
    ray: str
    temp: Path
    second: subprocess.Popen | None = None
    extra: list[subprocess.Popen] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {**os.environ, "RAY_ADDRESS": self.address}

    def kill_second(self) -> None:
        """The second node lost as a machine is: its raylet's process group and every process under it (the
        workers have their own groups, and the training they started) killed; `ray stop` would stop every node."""
        if self.second is not None and self.second.poll() is None:
            doomed = descendants(self.second.pid)
            os.killpg(self.second.pid, signal.SIGKILL)
            for pid in doomed:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.second.wait()

    def second_alive(self) -> int:
        return int(self.second is not None and self.second.poll() is None)

    def second_node_id(self) -> str:
        import ray

        ray.init(address=self.address, log_to_driver=False, logging_level="ERROR")
        try:
            return next(n["NodeID"] for n in ray.nodes() if n.get("Alive") and n["Resources"].get("second"))
        finally:
            ray.shutdown()

    def start_second(self) -> None:
        argv = [self.ray, "start", "--address", self.address, *SMALL, "--resources", '{"second": 1}', "--block"]
        self.second = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=self.env()
        )

    def start_blind_node(self, hidden: Path) -> subprocess.Popen:
        """A third node in its own mount namespace with an empty tmpfs over `hidden`: it cannot see that folder
        (root only; RayUnavailable otherwise). Kill its process group to remove it."""
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            raise RayUnavailable("a node that cannot see a folder needs root and unshare")
        start = f"{self.ray} start --address {self.address} {' '.join(SMALL)} --resources '{{\"blind\": 1}}' --block"
        script = f"mount -t tmpfs none '{hidden}' && exec {start}"
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.extra.append(proc)
        return proc

    def stop(self) -> None:
        self.kill_second()
        for proc in self.extra:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        self.stop_head()
        shutil.rmtree(self.temp, ignore_errors=True)

    def stop_head(self) -> None:
        """This cluster's processes only (those naming its temp folder or its port, and everything under them):
        `ray stop` would also stop any other Ray on the machine, e.g. another test run's."""
        port = re.compile(rf":{self.address.rsplit(':', 1)[1]}(\s|$)")
        own = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):
                args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if str(self.temp) in args or port.search(args):
                    own.append(int(cmdline.parent.name))
        doomed = own + [pid for pid in own for pid in descendants(pid)]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in doomed:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 10
            while sig == signal.SIGTERM and time.monotonic() < deadline and any(_alive(p) for p in doomed):
                time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone
    except (OSError, IndexError):
        return False


def descendants(pid: int) -> list[int]:
    """Every process under `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def nodes_with(address: str, resource: str) -> int:
    import ray

    ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    try:
        return sum(1 for n in ray.nodes() if n.get("Alive") and n["Resources"].get(resource))
    finally:
        ray.shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive_nodes(address: str) -> int:
    import ray

    ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    try:
        return sum(1 for n in ray.nodes() if n.get("Alive"))
    finally:
        ray.shutdown()


def start_ray(nodes: int = 2) -> RayCluster:
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        raise RayUnavailable(f"ray is not importable ({exc}): pip install 'diffdash[ray]'") from None
    exe = shutil.which("ray")
    if exe is None:
        raise RayUnavailable("the ray command is not on PATH")
    temp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: Ray's socket paths have a length limit
    port = _free_port()
    head = [exe, "start", "--head", "--port", str(port), *SMALL, "--include-dashboard=false", "--temp-dir", str(temp)]
    out = subprocess.run(head, capture_output=True, text=True, timeout=120)
    cluster = RayCluster(f"127.0.0.1:{port}", exe, temp)
    if out.returncode != 0:
        cluster.stop()
        raise RayUnavailable(f"ray start --head failed: {(out.stderr or out.stdout).strip().splitlines()[-1:]}")
    if nodes > 1:
        cluster.start_second()
    deadline = time.monotonic() + 90
    while alive_nodes(cluster.address) < nodes:
        if time.monotonic() > deadline:
            cluster.stop()
            raise RayUnavailable("the second Ray node did not join within 90 s")
        time.sleep(1)
    return cluster
