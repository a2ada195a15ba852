"""Lambda's limits on this machine: a process run in a cgroup of its own, with the memory
of a function's MemorySize (the kernel OOM-kills it past that, as Lambda does) and the
CPU Lambda gives that memory (1,769 MB buy one vCPU: 256 MB get 0.145 of a core).

cgroup v1 (a `memory` and a `cpu` hierarchy), as this machine kind has. The cgroup is
made under the one this process is in, so whatever limits it already has hold too, and
it is removed on the way out, its leftover processes killed first; its name carries the
pid of the process that made it, so that one left by a test process that died (killed
before its `finally`) is swept by the next. Where cgroups cannot be written, or the
machine has only the v2 hierarchy (not proven here: v2 needs the controllers enabled in
a parent that holds no process), `limited` raises `CgroupUnavailable`: the tests that
need it fail with that line, never skip.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path("/sys/fs/cgroup")
NAME_PREFIX = "dlf-status-test-"
MB = 1024 * 1024
# Lambda: "at 1,769 MB, a function has the equivalent of one vCPU".
MB_PER_VCPU = 1769
CPU_PERIOD_US = 100_000
# The kernel's SIGKILL, as a Popen returncode and as a shell reports it.
KILLED = (-signal.SIGKILL, 128 + signal.SIGKILL)


class CgroupUnavailable(RuntimeError):
    """No writable memory and cpu cgroup here (not root, or no controllers)."""


class Limits(NamedTuple):
    memory_bytes: int
    cpu_quota_us: int  # per CPU_PERIOD_US

    @property
    def cores(self) -> float:
        return self.cpu_quota_us / CPU_PERIOD_US


def lambda_limits(memory_mb: int) -> Limits:
    """The memory a function's MemorySize gives it, and the CPU share that comes with it."""
    return Limits(memory_mb * MB, round(CPU_PERIOD_US * memory_mb / MB_PER_VCPU))


class Outcome(NamedTuple):
    """What the kernel saw of the processes that ran in the cgroup.

    `peak_bytes` is what the cgroup was charged at most, page cache included (the
    files read and written: the kernel reclaims it before it kills anyone), so it
    may reach the limit with no process in danger. `rss_bytes` is the anonymous
    memory charged now (memory.stat's `rss`): what cannot be
    reclaimed. A process's own peak is `process_peak_rss`."""

    oom_kills: int  # processes the kernel OOM-killed in the cgroup
    failcnt: int  # times the usage reached the limit (reclaim included)
    peak_bytes: int  # the most memory charged at once
    rss_bytes: int = 0  # anonymous memory charged now

    @property
    def oom_killed(self) -> bool:
        return self.oom_kills > 0


def _own_path(controller: str) -> str:
    """This process's cgroup path in the v1 hierarchy of `controller`."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path.lstrip("/")
    return ""


def _read_int(path: Path, default: int = 0) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def _keyed(path: Path) -> dict[str, int]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    return {key: int(value) for key, value in (line.split() for line in lines if line.strip())}


class Cgroup:
    """One uniquely named cgroup with Lambda's limits; `run`/`popen` start processes in it."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        name = f"{NAME_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.parents = [
            ROOT / controller / _own_path(controller) for controller in ("memory", "cpu")
        ]
        self.directories = [parent / name for parent in self.parents]

    @property
    def memory_directory(self) -> Path:
        return self.directories[0]

    def create(self) -> None:
        if not (ROOT / "memory").is_dir():
            raise CgroupUnavailable(
                "no cgroup v1 memory hierarchy here: these tests need root and the v1 "
                "memory and cpu controllers (the v2 hierarchy is not supported by them)"
            )
        _sweep_orphans(self.parents)
        try:
            for directory in self.directories:
                directory.mkdir()
            memory, cpu = self.directories
            (memory / "memory.limit_in_bytes").write_text(str(self.limits.memory_bytes))
            swap = memory / "memory.memsw.limit_in_bytes"
            if swap.exists():  # no swap to escape to, as on Lambda
                swap.write_text(str(self.limits.memory_bytes))
            (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
            (cpu / "cpu.cfs_quota_us").write_text(str(self.limits.cpu_quota_us))
        except OSError as error:
            self.remove()
            raise CgroupUnavailable(
                f"cannot make a memory and cpu cgroup with Lambda's limits ({error}): "
                "these tests need root and writable cgroup controllers"
            ) from error

    def command(self, argv: Sequence[str]) -> list[str]:
        """`argv`, run by a shell that first moves itself into the cgroup: the process
        is inside before it allocates anything (no preexec_fn in a threaded parent)."""
        procs = " ".join(f"'{directory / 'cgroup.procs'}'" for directory in self.directories)
        script = f'for p in {procs}; do echo $$ > "$p" || exit 125; done; exec "$@"'
        return ["/bin/sh", "-c", script, "sh", *argv]

    def popen(self, argv: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command(argv), **options)

    def outcome(self) -> Outcome:
        memory = self.memory_directory
        control = _keyed(memory / "memory.oom_control")
        return Outcome(
            control.get("oom_kill", 0),
            _read_int(memory / "memory.failcnt"),
            _read_int(memory / "memory.max_usage_in_bytes"),
            _keyed(memory / "memory.stat").get("rss", 0),
        )

    def pids(self) -> list[int]:
        return _pids(self.directories)

    def remove(self) -> None:
        """Kills what is left in the cgroup, then removes it (an empty cgroup only)."""
        _remove(self.directories)


def _pids(directories: Sequence[Path]) -> list[int]:
    found: set[int] = set()
    for directory in directories:
        with suppress(OSError):
            found.update(int(pid) for pid in (directory / "cgroup.procs").read_text().split())
    return sorted(found)


def _remove(directories: Sequence[Path]) -> None:
    deadline = time.monotonic() + 10
    while (pids := _pids(directories)) and time.monotonic() < deadline:
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    for directory in reversed(directories):
        while directory.exists():
            try:
                directory.rmdir()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def _sweep_orphans(parents: Sequence[Path]) -> None:
    """Remove the cgroups (and kill the processes) that test processes which died
    before their `finally` left: those whose maker's pid is no longer alive."""
    for parent in parents:
        with suppress(OSError):
            for directory in parent.glob(f"{NAME_PREFIX}*"):
                maker = directory.name.removeprefix(NAME_PREFIX).split("-", 1)[0]
                if maker.isdigit() and not Path(f"/proc/{maker}").exists():
                    with suppress(OSError):
                        _remove([directory])


def process_peak_rss(pid: int) -> int:
    """The most resident memory process `pid` had at once (VmHWM: its anonymous
    memory and the file pages it mapped, no page cache it only read or wrote);
    0 once the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


@contextmanager
def limited(limits: Limits) -> Iterator[Cgroup]:
    cgroup = Cgroup(limits)
    cgroup.create()
    try:
        yield cgroup
    finally:
        cgroup.remove()
