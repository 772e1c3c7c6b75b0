"""Connection-churn soak of the userspace relay, with half-closes, one command:
`python bench/soak_proxy.py [--minutes 10] [--event-loop asyncio|uvloop] [--concurrency 64]`.

The relay (the userspace proxy's data path) runs in its own process on the chosen event loop, in
front of two backends and one dead endpoint (nothing listens there, so the connect retry is
exercised all the time). This process runs the backends and the clients on loopback (127.0.0.x)
and keeps `--concurrency` connections going, each a new connection playing one of:
- echo: the client sends 0 B to 1 MiB, half-closes, and must get exactly its bytes back followed
  by the backend's trailer, then EOF (client half-close forwarded, backend close forwarded);
- greet: the backend sends a greeting and half-closes first; the client must read the greeting
  and EOF, then send its bytes and half-close; the backend checks it got exactly those bytes;
- reset: the backend resets the connection after the first bytes; the client must see a reset
  or EOF, never a hang;
- abort: the client resets the connection mid-request; the backend must see it end.
Every `--interval` seconds it prints connections, rate, errors and the relay's RSS and open file
descriptors; at the end, after the load stops, the relay must still run, hold no more
descriptors than when idle (plus a few), and the backends no open connections. Exit status 0
only then and with zero errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
LISTEN = "127.0.0.3:9090"
BACKENDS = ["127.0.0.2:9090", "127.0.0.5:9090"]
DEAD = "127.0.0.6:9090"
GREETING = b"greetings from the backend\n" * 40
TIMEOUT = 15.0


@dataclass
class Tally:
    done: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    backend_open: int = 0
    samples: list[str] = field(default_factory=list)

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{kind}: {detail}")


# --- backends -------------------------------------------------------------------------------


async def backend(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, t: Tally) -> None:
    t.backend_open += 1
    try:
        head = await reader.readline()
        if head.startswith(b"E"):
            total = 0
            while chunk := await reader.read(65536):
                total += len(chunk)
                writer.write(chunk)
                await writer.drain()
            writer.write(f"\nEOF {total}\n".encode())
        elif head.startswith(b"G"):
            expected = int(head.split()[1])
            writer.write(GREETING)
            writer.write_eof()
            got = len(await reader.read())
            if got != expected:
                t.error("greet-backend", f"got {got} bytes, expected {expected}")
        elif head.startswith(b"R"):
            await reader.read(1)
            writer.transport.abort()
            return
        else:  # A: the client will reset
            await reader.read()
        await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        t.backend_open -= 1
        writer.close()


# --- clients --------------------------------------------------------------------------------


def _payload(rng: random.Random, n: int) -> bytes:
    size = 1 << 20 if n % 97 == 0 else rng.randrange(0, 65536)
    return rng.randbytes(size)


async def client(kind: str, n: int, t: Tally, rng: random.Random) -> None:
    host, port = LISTEN.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        if kind == "echo":
            data = _payload(rng, n)
            writer.write(b"E\n" + data)
            send = asyncio.ensure_future(_send_eof(writer))
            got = await reader.read()
            await send
            if got != data + f"\nEOF {len(data)}\n".encode():
                t.error("echo", f"{len(got)} bytes back for {len(data)}")
                return
        elif kind == "greet":
            data = _payload(rng, n)
            writer.write(f"G {len(data)}\n".encode())
            got = await reader.read()
            if got != GREETING:
                t.error("greet", f"greeting of {len(got)} bytes")
                return
            writer.write(data)
            await _send_eof(writer)
        elif kind == "reset":
            writer.write(b"R\nx")
            with contextlib.suppress(ConnectionResetError):
                got = await reader.read()
                if got:
                    t.error("reset", f"{len(got)} unexpected bytes")
                    return
        else:
            writer.write(b"A\n" + rng.randbytes(1000))
            await writer.drain()
            writer.transport.abort()
        t.done[kind] += 1
    finally:
        writer.close()


async def _send_eof(writer: asyncio.StreamWriter) -> None:
    await writer.drain()
    writer.write_eof()


KINDS = ["echo"] * 8 + ["greet"] * 6 + ["reset"] * 3 + ["abort"] * 3


async def load(until: float, concurrency: int, t: Tally) -> None:
    rng = random.Random(7)
    counter = iter(range(1 << 62))

    async def worker() -> None:
        while time.monotonic() < until:
            n = next(counter)
            kind = KINDS[n % len(KINDS)]
            try:
                async with asyncio.timeout(TIMEOUT):
                    await client(kind, n, t, rng)
            except TimeoutError:
                t.error(kind, "hung")
            except (ConnectionError, OSError) as exc:
                if kind in ("reset", "abort") and isinstance(exc, ConnectionResetError):
                    t.done[kind] += 1
                else:
                    t.error(kind, repr(exc))

    await asyncio.gather(*(worker() for _ in range(concurrency)))


# --- the relay process ----------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def soak(args: argparse.Namespace) -> bool:
    t = Tally()
    servers = [
        await asyncio.start_server(
            lambda r, w: backend(r, w, t), b.rsplit(":")[0], int(b.rsplit(":")[1]), backlog=4096
        )
        for b in BACKENDS
    ]
    argv = [sys.executable, str(BENCH / "proxy.py"), "--serve-relay", LISTEN]
    argv += ["--backend", ",".join([DEAD, *BACKENDS]), "--event-loop", args.event_loop]
    relay = subprocess.Popen(argv, stdout=subprocess.PIPE)
    try:
        assert relay.stdout is not None
        line = await asyncio.to_thread(relay.stdout.readline)
        if line.strip() != b"ready":
            print("the relay did not start", file=sys.stderr)
            return False
        idle_fds, start_rss = fds(relay.pid), rss_mb(relay.pid)
        print(
            f"soak: relay on {args.event_loop}, {args.minutes} min, {args.concurrency} "
            f"concurrent connections; idle relay: {start_rss:.1f} MB RSS, {idle_fds} fds"
        )
        started = time.monotonic()
        until = started + args.minutes * 60
        job = asyncio.ensure_future(load(until, args.concurrency, t))
        last_total, last_time = 0, started
        while not job.done():
            await asyncio.wait([job], timeout=args.interval)
            now, total = time.monotonic(), sum(t.done.values())
            if relay.poll() is not None:
                print(f"the relay exited with {relay.returncode}")
                job.cancel()
                break
            print(
                f"  t={now - started:6.0f}s  connections {total:8d} "
                f"({(total - last_total) / max(now - last_time, 1e-9):6.0f}/s)  "
                f"errors {sum(t.errors.values()):4d}  relay rss {rss_mb(relay.pid):6.1f} MB  "
                f"fds {fds(relay.pid):5d}  backend open {t.backend_open:3d}",
                flush=True,
            )
            last_total, last_time = total, now
        with contextlib.suppress(asyncio.CancelledError):
            await job
        await asyncio.sleep(2)  # let the last closes land
        alive = relay.poll() is None
        end_fds = fds(relay.pid) if alive else -1
        print(f"done: {dict(t.done)}; errors: {dict(t.errors) or 0}")
        for sample in t.samples:
            print(f"  {sample}")
        ok = alive and not t.errors and end_fds <= idle_fds + 4 and t.backend_open == 0
        print(
            f"{'PASS' if ok else 'FAIL'}: relay {'running' if alive else 'died'}, "
            f"fds {end_fds} (idle {idle_fds}), backend connections open {t.backend_open}, "
            f"rss {rss_mb(relay.pid) if alive else 0:.1f} MB (idle {start_rss:.1f} MB)"
        )
        return ok
    finally:
        if relay.poll() is None:
            relay.terminate()
        relay.wait(10)
        for server in servers:
            server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--event-loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between reports")
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(soak(args)) else 1)


if __name__ == "__main__":
    main()
