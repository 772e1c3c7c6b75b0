"""The userspace proxy's relay against haproxy and a direct connection, one command:
`python bench/proxy.py [--duration 5] [--connections 50] [--event-loop asyncio|uvloop|both]`.

Everything runs on loopback in this network namespace, measured in the same run with the same
load generator (wrk, one thread):
- backend: nginx, one worker, on 127.0.0.2:8080 (`/` answers "ok", `/bulk` a 16 MiB body);
- direct: wrk → 127.0.0.2:8080;
- relay: wrk → kubesvc's TcpRelay (the userspace proxy's data path, one process, round robin
  over the one backend) on 127.0.0.3:8080 → backend;
- haproxy: wrk → haproxy 2.x, `mode tcp`, one thread, on 127.0.0.4:8080 → backend.
Three loads per target: keep-alive requests (req/s, p99), a new connection per request
(`Connection: close`: conn/s, p99) and bulk transfer (4 connections fetching `/bulk`: MB/s).
The last columns give the relay's keep-alive req/s, conn/s and MB/s as a fraction of haproxy's
(the issue's aims: ≥ 1.0×, ≥ 0.7× and ≥ 1 GB/s). haproxy and wrk are installed with apt-get when
missing; nginx comes with `scripts/setup`.

`--serve-relay HOST:PORT --backend HOST:PORT[,HOST:PORT...]` runs just the relay (used by the
bench itself and by `bench/soak_proxy.py`): it prints `ready` once it listens; RELAY_LOG=INFO
shows its failed dials.

Numbers from a shared 2-core machine move by ±30 % between runs: compare rows of one run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src")]

BACKEND, RELAY, HAPROXY = "127.0.0.2:8080", "127.0.0.3:8080", "127.0.0.4:8080"
BULK_BYTES = 16 * 1024 * 1024


# --- the relay alone ------------------------------------------------------------------------


def serve_relay(listen: str, backends: list[str], event_loop: str) -> None:
    import asyncio
    import logging

    from kubesvc.lib import loops
    from kubesvc.proxy.userspace.balancer import LoadBalancer
    from kubesvc.proxy.userspace.relay import TcpRelay

    logging.basicConfig(level=os.environ.get("RELAY_LOG", "WARNING"), stream=sys.stderr)

    async def main() -> None:
        lb = LoadBalancer(time.monotonic)
        lb.set_service("bench", None)
        lb.set_endpoints("bench", backends)
        relay = TcpRelay(lambda ip, tried: lb.next_endpoint("bench", ip, tried))
        host, port = listen.rsplit(":", 1)
        await relay.start(host, int(port))
        print("ready", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        loops.run(main, event_loop)


# --- peers ----------------------------------------------------------------------------------


def ensure_tools() -> None:
    missing = [
        pkg for pkg, tool in (("haproxy", "haproxy"), ("wrk", "wrk")) if not shutil.which(tool)
    ]
    if not missing:
        return
    print(f"installing {', '.join(missing)} with apt-get ...", file=sys.stderr)
    policy = Path("/usr/sbin/policy-rc.d")  # no host service may start on install
    made = not policy.exists()
    if made:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)
    finally:
        if made:
            policy.unlink()
    if not shutil.which("nginx"):
        raise SystemExit("error: nginx is needed as the backend; run scripts/setup")


NGINX_CONF = """\
user root;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx.err;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    server {{
        listen {backend} backlog=4096;
        root {dir};
        location = / {{ return 200 "ok\\n"; }}
        location = /bulk {{ }}
    }}
}}
"""

HAPROXY_CONF = """\
global
    nbthread 1
    maxconn 4000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend bench
    bind {haproxy}
    default_backend backend
backend backend
    server s1 {backend}
"""


def _wait_listening(address: str, proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    import socket

    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"error: {proc.args!r} exited ({proc.returncode})")
        with socket.socket() as sock:
            if sock.connect_ex((host, int(port))) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"error: nothing listens on {address}")


@contextlib.contextmanager
def peers(workdir: Path, event_loop: str) -> Iterator[dict[str, str]]:
    """Start backend, relay and haproxy; stop them (by pid) afterwards."""
    (workdir / "bulk").write_bytes(b"\0" * BULK_BYTES)
    (workdir / "nginx.conf").write_text(NGINX_CONF.format(dir=workdir, backend=BACKEND))
    (workdir / "haproxy.cfg").write_text(HAPROXY_CONF.format(haproxy=HAPROXY, backend=BACKEND))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        nginx = ["nginx", "-p", str(workdir), "-c", str(workdir / "nginx.conf")]
        procs.append(subprocess.Popen([*nginx, "-g", "daemon off;"]))
        _wait_listening(BACKEND, procs[-1])
        procs.append(subprocess.Popen(["haproxy", "-db", "-f", str(workdir / "haproxy.cfg")]))
        _wait_listening(HAPROXY, procs[-1])
        relay = [sys.executable, __file__, "--serve-relay", RELAY, "--backend", BACKEND]
        procs.append(subprocess.Popen([*relay, "--event-loop", event_loop], stdout=subprocess.PIPE))
        assert procs[-1].stdout is not None
        if procs[-1].stdout.readline().strip() != b"ready":
            raise SystemExit(f"error: the relay did not start ({event_loop})")
        yield {"direct": BACKEND, f"relay ({event_loop})": RELAY, "haproxy": HAPROXY}
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


# --- load -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    rate: float  # requests/s
    p99_ms: float
    mb_per_s: float
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_SIZES = {"B": 1e-6, "KB": 1024 / 1e6, "MB": 1024**2 / 1e6, "GB": 1024**3 / 1e6}


def wrk(address: str, path: str, connections: int, duration: int, close: bool) -> Result:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if close:
        argv += ["-H", "Connection: close"]
    out = subprocess.run(
        [*argv, f"http://{address}{path}"], capture_output=True, text=True, check=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", out)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", out)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Result(
        rate=rate,
        p99_ms=float(p99.group(1)) * _UNITS[p99.group(2)] if p99 else float("nan"),
        mb_per_s=float(transfer.group(1)) * _SIZES[transfer.group(2)] if transfer else 0.0,
        errors=errors + (int(non_2xx.group(1)) if non_2xx else 0),
    )


def measure(targets: dict[str, str], args: argparse.Namespace) -> dict[str, list[Result]]:
    rows: dict[str, list[Result]] = {}
    for name, address in targets.items():
        rows[name] = [
            wrk(address, "/", args.connections, args.duration, close=False),
            wrk(address, "/", args.connections, args.duration, close=True),
            wrk(address, "/bulk", 4, args.duration, close=False),
        ]
    return rows


def table(rows: dict[str, list[Result]]) -> str:
    head = (
        f"{'target':<18} {'req/s':>9} {'p99 ms':>7} {'conn/s':>8} {'p99 ms':>7} "
        f"{'MB/s':>7} {'errors':>6}  {'vs haproxy (req, conn, MB)':>26}"
    )
    lines = [head, "-" * len(head)]
    peer = rows["haproxy"]
    for name, (keep, close, bulk) in rows.items():
        ratio = ""
        if name.startswith("relay"):
            parts = (keep.rate / peer[0].rate, close.rate / peer[1].rate)
            ratio = f"{parts[0]:.2f}x, {parts[1]:.2f}x, {bulk.mb_per_s / peer[2].mb_per_s:.2f}x"
        errors = keep.errors + close.errors + bulk.errors
        lines.append(
            f"{name:<18} {keep.rate:>9.0f} {keep.p99_ms:>7.2f} {close.rate:>8.0f} "
            f"{close.p99_ms:>7.2f} {bulk.mb_per_s:>7.0f} {errors:>6}  {ratio:>26}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per load (default 5)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    parser.add_argument("--event-loop", choices=["asyncio", "uvloop", "both"], default="asyncio")
    parser.add_argument("--serve-relay", metavar="HOST:PORT", help=argparse.SUPPRESS)
    parser.add_argument("--backend", default=BACKEND, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_relay:
        serve_relay(args.serve_relay, args.backend.split(","), args.event_loop)
        return
    ensure_tools()
    loops = ["asyncio", "uvloop"] if args.event_loop == "both" else [args.event_loop]
    print(
        f"loopback, {os.cpu_count()} cores; wrk -t1 -c{args.connections} -d{args.duration}s; "
        f"bulk: 4 connections x {BULK_BYTES >> 20} MiB bodies\n"
    )
    rows: dict[str, list[Result]] = {}
    for loop in loops:
        with (
            tempfile.TemporaryDirectory(prefix="kubesvc-bench-proxy-") as tmp,
            peers(Path(tmp), loop) as targets,
        ):
            if rows:  # direct and haproxy once; the relay on each loop
                targets = {k: v for k, v in targets.items() if k.startswith("relay")}
            rows.update(measure(targets, args))
    print(table(rows))


if __name__ == "__main__":
    main()
