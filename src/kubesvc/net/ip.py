"""The kernel boundary of `kubesvc.net`: the only module that runs `ip`, reads /run/netns and
writes /proc/sys.

Batches (`plan.Batch`) go to `ip [-n NS] -batch -` on stdin; a stage's batches run as parallel
processes and the stage fails with `IpError` naming the first batch that failed, after all of them
have finished. Sysctls are written without a process: a short-lived thread enters the namespace
with setns(2) (network namespaces are per thread) and writes /proc/sys, which the kernel resolves
in the writing thread's namespace; the thread then ends, so no other code ever runs in a foreign
namespace. Finding the processes in a namespace compares /proc/PID/ns/net with the namespace file.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from kubesvc.net.plan import IP, Stage, Sysctl

NETNS_DIR = Path("/run/netns")
ETC_NETNS = Path("/etc/netns")
CLONE_NEWNET = 0x40000000
TIMEOUT = 30.0


class IpError(RuntimeError):
    """An `ip` run failed; carries its argv, the batch text and what it printed."""

    def __init__(self, argv: Sequence[str], text: str, returncode: int, stderr: str) -> None:
        self.argv = list(argv)
        self.text = text
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(
            f"{' '.join(argv)} exited {returncode}: {stderr.strip()}\n--- input\n{text}"
        )


def support() -> str | None:
    """Why network namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root (run as root, or use loopback mode)"
    if shutil.which(IP) is None:
        return "the `ip` command (iproute2) is not installed"
    if not Path("/proc/self/ns/net").exists():
        return "this kernel has no network namespaces"
    return None


def run_stage(stage: Stage, sysctls: Sequence[Sysctl] = ()) -> None:
    """Run a stage's batches side by side (and write `sysctls` meanwhile); raise on any failure.

    Each batch's input is a temporary file, so every `ip` reads its whole batch at once and no
    pipe can fill up while another process is being waited for.
    """
    procs = []
    for batch in stage:
        with tempfile.TemporaryFile("w+") as script:
            script.write(batch.text())
            script.seek(0)
            proc = subprocess.Popen(
                batch.argv(), stdin=script, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        procs.append((batch, proc))
    failure: BaseException | None = None
    try:
        write_sysctls(sysctls)
    except OSError as err:
        failure = err
    for batch, proc in procs:
        try:
            _, err_bytes = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err_bytes = proc.communicate()
        if proc.returncode != 0 and failure is None and not batch.force:
            err_text = err_bytes.decode(errors="replace")
            failure = IpError(batch.argv(), batch.text(), proc.returncode, err_text)
    if failure is not None:
        raise failure


def run_stages(stages: Iterable[Stage], sysctls: Sequence[Sysctl] = ()) -> None:
    """Stages in order; `sysctls` are written during the second stage (namespaces exist by then)."""
    pending = list(sysctls)
    for number, stage in enumerate(stages):
        now, pending = (pending, []) if number >= 1 else ([], pending)
        run_stage(stage, now)
    if pending:
        write_sysctls(pending)


def output(argv: Sequence[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
    if result.returncode != 0:
        raise IpError(argv, "", result.returncode, result.stderr)
    return result.stdout


def netns_list() -> list[str]:
    """Named network namespaces (the files `ip netns add` mounts in /run/netns)."""
    try:
        return sorted(entry.name for entry in os.scandir(NETNS_DIR))
    except FileNotFoundError:
        return []


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def host_link_exists(name: str) -> bool:
    """Whether the host (this process's namespace) has an interface `name`."""
    return (Path("/sys/class/net") / name).exists()


def links(netns: str | None = None) -> list[str]:
    """Interface names in a namespace (None: the host)."""
    argv = [IP, *(["-n", netns] if netns else []), "-j", "link", "show"]
    return [str(link["ifname"]) for link in json.loads(output(argv) or "[]")]


def host_routes() -> list[dict[str, Any]]:
    """The host's IPv4 main routing table as `ip -j` prints it."""
    routes: list[dict[str, Any]] = json.loads(output([IP, "-j", "-4", "route", "show"]) or "[]")
    return routes


def _libc_setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


def in_netns(netns: str, fn: Callable[[], None]) -> None:
    """Call `fn` on a fresh thread that has entered `netns`; re-raise what it raised."""
    errors: list[BaseException] = []

    def body() -> None:
        try:
            fd = os.open(NETNS_DIR / netns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                _libc_setns(fd)
            finally:
                os.close(fd)
            fn()
        except BaseException as err:  # handed to the caller's thread
            errors.append(err)

    thread = threading.Thread(target=body, name=f"netns:{netns}")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def write_sysctls(sysctls: Sequence[Sysctl]) -> None:
    by_netns: dict[str, list[Sysctl]] = {}
    for item in sysctls:
        by_netns.setdefault(item.netns, []).append(item)
    for netns, items in by_netns.items():
        in_netns(netns, functools.partial(_write, items))


def _write(items: Sequence[Sysctl]) -> None:
    for item in items:
        try:
            with open(item.path, "w") as file:
                file.write(item.value)
        except FileNotFoundError:
            if not item.optional:
                raise


def read_sysctl(netns: str, key: str) -> str:
    found: list[str] = []
    path = "/proc/sys/" + key.replace(".", "/")
    in_netns(netns, lambda: found.append(Path(path).read_text().strip()))
    return found[0]


def netns_pids(names: Iterable[str]) -> dict[str, list[int]]:
    """The processes living in each named namespace (like `ip netns pids`, for many at once)."""
    wanted: dict[tuple[int, int], str] = {}
    for name in names:
        with contextlib.suppress(OSError):
            st = os.stat(NETNS_DIR / name)
            wanted[(st.st_dev, st.st_ino)] = name
    found: dict[str, list[int]] = {}
    if not wanted:
        return found
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry.name}/ns/net")
        except OSError:  # gone, or a zombie
            continue
        owner = wanted.get((st.st_dev, st.st_ino))
        if owner is not None:
            found.setdefault(owner, []).append(int(entry.name))
    return found


def kill(pids: Iterable[int], wait: float = 2.0) -> None:
    """SIGKILL these processes and wait (briefly) until they are gone."""
    pids = [pid for pid in pids if pid != os.getpid()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + wait
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        if pids:
            time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def etc_dirs(prefix: str) -> list[Path]:
    """/etc/netns/<name> directories whose name starts with `prefix`."""
    try:
        return sorted(Path(e.path) for e in os.scandir(ETC_NETNS) if e.name.startswith(prefix))
    except FileNotFoundError:
        return []


def write_etc(netns: str, files: dict[str, str]) -> Path:
    """Write /etc/netns/NETNS/<name> files, which `ip netns exec` bind-mounts over /etc/<name>."""
    directory = ETC_NETNS / netns
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        tmp = directory / f".{name}.tmp"
        tmp.write_text(text)
        tmp.chmod(0o644)
        tmp.replace(directory / name)
    return directory


def remove_etc_root_if_empty() -> None:
    """Remove /etc/netns when nothing is left in it (kubesvc may have made it)."""
    with contextlib.suppress(OSError):
        ETC_NETNS.rmdir()


def remove_etc(netns: str) -> bool:
    directory = ETC_NETNS / netns
    if not directory.exists():
        return False
    shutil.rmtree(directory, ignore_errors=True)
    return True


def listen_socket(netns: str, host: str, port: int) -> socket.socket:
    """A listening TCP socket bound inside `netns` (a socket keeps the namespace it was made in,
    so the caller's event loop can serve it from the host namespace)."""
    made: list[socket.socket] = []

    def create() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
        made.append(sock)

    in_netns(netns, create)
    return made[0]
