"""A real one-node Slurm on this machine for the study executor tests: munged, slurmctld and slurmd started from
a minimal slurm.conf in a temporary folder, torn down afterwards. `start_slurm` raises SlurmUnavailable with the
reason (not root, Debian's slurm-wlm or munge not installed, a daemon that would not start) for the test to skip.

    python tests/slurm_support.py     # one by hand: prints the SLURM_CONF line to export; Enter stops it
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CONF = """\
ClusterName=diffdash
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={dir}/munge.socket
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
"""


class SlurmUnavailable(RuntimeError):
    """Why no Slurm could be started here (the tests skip with it)."""


@dataclass
class Slurm:
    dir: Path
    conf: Path
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *argv: str, check: bool = True) -> str:
        out = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=30)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {out.stderr.strip() or out.stdout.strip()}")
        return out.stdout

    def stop(self) -> None:
        subprocess.run(["scancel", "--full", "--user", "root"], env=self.env, capture_output=True, timeout=30)
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024 // 2  # half of it: slurmd refuses a node larger than the machine
    return 1024


def start_slurm(cpus: int = 2) -> Slurm:
    """munged, slurmctld and slurmd for one node named after this host, with `cpus` CPUs; ready to take jobs."""
    if os.geteuid() != 0:
        raise SlurmUnavailable("a local Slurm needs root (slurmd runs jobs as their user)")
    missing = [d for d in (*DAEMONS, "sbatch", "squeue", "scontrol") if shutil.which(d) is None]
    if missing:
        raise SlurmUnavailable(f"not installed: {', '.join(missing)} (apt-get install slurm-wlm munge)")
    folder = Path(tempfile.mkdtemp(prefix="diffdash-slurm-"))
    host = socket.gethostname().split(".")[0]
    for sub in ("state", "spool"):
        (folder / sub).mkdir()
    key = folder / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    conf = folder / "slurm.conf"
    conf.write_text(
        CONF.format(
            host=host, dir=folder, cpus=cpus, mem=_memory_mb(), ctld_port=_free_port(), slurmd_port=_free_port()
        )
    )
    slurm = Slurm(folder, conf)
    env = slurm.env
    commands = [
        ["munged", "-F", "-f", f"--socket={folder}/munge.socket", f"--key-file={key}",
         f"--pid-file={folder}/munged.pid", f"--log-file={folder}/munged.log", f"--seed-file={folder}/munged.seed"],
        ["slurmctld", "-D", "-i", "-f", str(conf)],
        ["slurmd", "-D", "-N", host, "-f", str(conf)],
    ]  # fmt: skip
    try:
        for name, argv in zip(DAEMONS, commands, strict=True):
            log = open(folder / f"{name}.out", "wb")  # noqa: SIM115 - the daemon's for its lifetime
            slurm.procs.append(subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT))
            _wait_up(slurm, name)
        return slurm
    except Exception:
        slurm.stop()
        raise


def _wait_up(slurm: Slurm, name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    proc = slurm.procs[-1]
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (slurm.dir / f"{name}.out").read_text(errors="replace").strip().splitlines()[-3:]
            more = (
                (slurm.dir / f"{name}.log").read_text(errors="replace").strip().splitlines()[-3:]
                if (slurm.dir / f"{name}.log").exists()
                else []
            )
            raise SlurmUnavailable(f"{name} exited {proc.returncode}: {' | '.join(log + more)}")
        if name == "munged" and (slurm.dir / "munge.socket").exists():
            return
        if name == "slurmctld" and slurm.run("scontrol", "ping", check=False).count("UP"):
            return
        if name == "slurmd":
            state = slurm.run("sinfo", "-h", "-o", "%T", check=False).strip()
            if state in ("idle", "mixed", "allocated"):
                return
        time.sleep(0.3)
    raise SlurmUnavailable(f"{name} did not come up within {timeout:.0f} s (logs in {slurm.dir})")


if __name__ == "__main__":
    import sys

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the daemons on SIGTERM too
    s = start_slurm()
    print(f"export SLURM_CONF={s.conf}", flush=True)
    try:
        input("Slurm is up; Enter (or SIGTERM) stops it\n") if sys.stdin.isatty() else signal.pause()
    finally:
        s.stop()
