"""A small tmpfs in a private mount namespace: a real file system that runs out of
space or turns read-only, which no other process (nor this machine) ever sees.

A holder process (`unshare --mount --propagation private`) mounts the tmpfs on a
directory and sleeps; commands run inside its namespace through `nsenter`, and the
test reads and fills the tmpfs through `/proc/<holder>/root`. The holder, and every
command run in its namespace, die with the test process (`setpriv --pdeathsig KILL`,
not a preexec_fn: the tests run servers in threads, and a preexec_fn in a threaded
parent may deadlock), and the mount with them: a test that dies leaves nothing
mounted. Needs root (a VM or a container with CAP_SYS_ADMIN); without it, the tests
fail with one line saying so.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

# Each process started here is killed when the thread that started it ends.
_DIE_WITH_PARENT = ("setpriv", "--pdeathsig", "KILL", "--")


class PrivateTmpfs:
    def __init__(self, holder: subprocess.Popen[str], mount_point: Path) -> None:
        self._holder = holder
        self.mount_point = mount_point  # the path inside the namespace

    @property
    def seen_from_here(self) -> Path:
        """The tmpfs's root, as this process reaches it (never `resolve()` it: the
        magic link would lead back to this namespace)."""
        return Path(f"/proc/{self._holder.pid}/root") / self.mount_point.relative_to("/")

    def run(
        self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`argv` in the namespace, where `mount_point` is the tmpfs."""
        return subprocess.run(
            [*_DIE_WITH_PARENT, "nsenter", f"--mount=/proc/{self._holder.pid}/ns/mnt", "--", *argv],
            env=dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def popen(
        self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path
    ) -> subprocess.Popen[str]:
        """`argv` started in the namespace (a server), its stderr a pipe."""
        return subprocess.Popen(
            [*_DIE_WITH_PARENT, "nsenter", f"--mount=/proc/{self._holder.pid}/ns/mnt", "--", *argv],
            env=dict(env),
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def remount(self, options: str) -> None:
        done = self.run(
            ["mount", "-o", f"remount,{options}", str(self.mount_point)],
            env=os.environ,
            cwd=Path("/"),
        )
        assert done.returncode == 0, done.stderr

    def free_bytes(self) -> int:
        status = os.statvfs(self.seen_from_here)
        return status.f_bavail * status.f_frsize


@contextmanager
def private_tmpfs(mount_point: Path, size: str) -> Iterator[PrivateTmpfs]:
    """A tmpfs of `size` (as mount's `size=`) on `mount_point`, in a namespace of its own."""
    mount_point.mkdir(parents=True, exist_ok=True)
    script = (
        f'mount -t tmpfs -o size={size},mode=0755 tmpfs "$1" && echo mounted && exec sleep infinity'
    )
    holder = subprocess.Popen(
        [
            *_DIE_WITH_PARENT,
            *("unshare", "--mount", "--propagation", "private"),
            *("sh", "-c", script, "sh", str(mount_point)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        if holder.stdout.readline().strip() != "mounted":
            holder.kill()
            _, said = holder.communicate()
            raise AssertionError(
                "a private tmpfs needs root or CAP_SYS_ADMIN (unshare --mount, mount -t tmpfs): "
                + " ".join(said.split())[:300]
            )
        yield PrivateTmpfs(holder, mount_point)
    finally:
        holder.kill()
        holder.wait()
        for pipe in (holder.stdout, holder.stderr):
            if pipe is not None:
                pipe.close()
