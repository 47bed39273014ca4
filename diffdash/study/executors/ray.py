"""`study run --executor ray`: each member a Ray task (its CPUs and GPUs requested from the cluster) that trains
it with diffdash's headless path (member_job.py) into the shared runs folder.

Before anything is submitted every node is asked to read a probe file the driver wrote into the runs folder and
to write one back: a node that cannot see the folder fails the check with its name. A node lost mid-member
fails its task, which Ray retries elsewhere (`max_retries`); the retry finds the run folder and resumes from
its checkpoint. The tasks end with the driver (`study run`): stopping it stops them cleanly.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffdash.study.executors.base import ExecutorError, JobView, require
from diffdash.study.executors.member_job import MemberTraining
from diffdash.study.executors.records import update_record
from diffdash.study.members import STUDIES_DIR, study_dir
from diffdash.study.spec import Member, Study

INSTALL = 'pip install "diffdash[ray]"'
CONNECT_TIMEOUT_S = 3.0
PROBE_TIMEOUT_S = 60.0


def train_on_node(training: MemberTraining) -> str:
    """The task's body, on whichever node Ray chose (again, after a node was lost)."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    update_record(training.root, training.study, training.member, node_id=node)
    training.where = {"ray node": node[:12]}
    return training.run()


def probe_node(path: str, token: str) -> tuple[str, bool]:
    """On one node: (its host name, whether it sees the driver's probe file); it writes its own beside it."""
    import ray

    probe = Path(path)
    seen = probe.is_file() and probe.read_text() == token
    if seen:
        node = ray.get_runtime_context().get_node_id()
        (probe.parent / f"{probe.name}.{node}").write_text(token)
    return socket.gethostname(), seen


@dataclass
class RayExecutor:
    study: Study
    root: Path
    table: dict[str, Any]
    address: str
    name: str = "ray"
    stops_with_driver: bool = True
    refs: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        require("ray", INSTALL)
        self._reachable()
        import ray

        try:
            ray.init(address=self.address, log_to_driver=False, logging_level="ERROR", configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExecutorError(f"--ray-address {self.address}: no Ray cluster to connect to ({first})") from None
        try:
            self._probe()
        except ExecutorError:
            ray.shutdown()
            raise

    def _reachable(self) -> None:
        """HOST:PORT answers within seconds (ray.init alone retries for a minute before it gives up)."""
        if self.address == "auto" or "://" in self.address:
            return
        host, _, port = self.address.rpartition(":")
        if not host or not port.isdigit():
            raise ExecutorError(f"--ray-address takes auto or HOST:PORT, got {self.address!r}")
        try:
            socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as exc:
            raise ExecutorError(f"--ray-address {self.address}: nobody answers there ({exc.strerror or exc})") from None

    def _probe(self) -> None:
        """Every alive node must see the runs folder; what the probe made is removed again."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        made = [p for p in (self.root, self.root / STUDIES_DIR, study_dir(self.root, self.study)) if not p.exists()]
        folder = study_dir(self.root, self.study)
        folder.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        probe = folder / f"probe-{token[:8]}"
        probe.write_text(token)
        try:
            nodes = [n for n in ray.nodes() if n.get("Alive")]
            task = ray.remote(num_cpus=0)(probe_node)
            refs = [
                task.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote(
                    str(probe.resolve()), token
                )
                for n in nodes
            ]
            ray.wait(refs, num_returns=len(refs), timeout=PROBE_TIMEOUT_S)
            blind, answered = [], 0
            for ref, n in zip(refs, nodes, strict=True):
                try:
                    host, seen = ray.get(ref, timeout=0)
                except ray.exceptions.GetTimeoutError:
                    host, seen = n["NodeManagerAddress"], False  # alive but silent: it cannot be trusted
                except ray.exceptions.RayError:
                    continue  # a node dying as we asked: Ray will not place a member there either
                answered += 1
                if not seen:
                    blind.append(f"{host} ({n['NodeManagerAddress']})")
            if not answered:
                raise ExecutorError("no node of the Ray cluster answered the runs-folder check")
            if blind:
                raise ExecutorError(
                    f"the runs folder {self.root.resolve()} is not shared with every Ray node: "
                    f"{', '.join(blind)} cannot see it (give --runs-dir a folder every node mounts)"
                )
        finally:
            for p in folder.glob(f"{probe.name}*"):
                p.unlink(missing_ok=True)
            for p in reversed(made):
                if p.exists() and not any(p.iterdir()):
                    shutil.rmtree(p, ignore_errors=True)

    def resources(self, member: Member) -> dict[str, Any]:
        threads = int(member.params.get("threads") or 1) * int(member.params.get("nproc") or 1)
        return {
            "num_cpus": self.table.get("num_cpus", threads),
            "num_gpus": self.table.get("num_gpus", 0),
            "max_retries": self.table.get("max_retries", 3),
        }

    def submit(self, member: Member) -> dict[str, Any]:
        import ray

        res = self.resources(member)
        threads = max(1, int(res["num_cpus"] or 1) // int(member.params.get("nproc") or 1))
        training = MemberTraining(self.study, self.root.resolve(), member, threads, {})
        env = {k: v for k, v in os.environ.items() if k.startswith("DIFFDASH_")}
        task = ray.remote(train_on_node).options(
            **res, retry_exceptions=False, name=member.run_id, runtime_env={"env_vars": env} if env else None
        )
        self.refs[member.name] = task.remote(training)
        return {}  # the task writes its node into the record itself: a write here could race it

    def poll(self, records: dict[str, dict[str, Any]]) -> dict[str, JobView]:
        import ray

        out: dict[str, JobView] = {}
        for name in records:
            ref = self.refs.get(name)
            if ref is None:  # placed by an earlier driver, whose tasks ended with it
                out[name] = JobView("gone", live=False)
                continue
            ready, _ = ray.wait([ref], timeout=0)
            if not ready:
                out[name] = JobView("running")
                continue
            try:
                out[name] = JobView(ray.get(ref), live=False)
            except Exception as exc:  # noqa: BLE001 - the task's failure, shown as its reason
                text = str(exc).strip().splitlines()
                out[name] = JobView("failed", reason=text[-1][:200] if text else type(exc).__name__, live=False)
        return out

    def wait_stopped(self, names: list[str], timeout: float = 180.0) -> None:
        import ray

        refs = [self.refs[n] for n in names if n in self.refs]
        deadline = time.monotonic() + timeout
        while refs and time.monotonic() < deadline:
            _, refs = ray.wait(refs, num_returns=len(refs), timeout=1.0)

    def leave(self, names: list[str]) -> str:
        return f"stopped {len(names)} Ray task(s)"

    def close(self) -> None:
        import ray

        if ray.is_initialized():
            ray.shutdown()
