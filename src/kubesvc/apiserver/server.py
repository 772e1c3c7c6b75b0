"""`kubesvc apiserver`: open the store, bootstrap, serve, and run the loops beside the server.

Start-up order follows kube-apiserver: the allocation tables are repaired once before the
server answers, so no client ever sees a table that disagrees with the Services. The kubeconfig
is written (atomically) only once the port answers, so its existence means "ready".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from kubesvc.apiserver import namespaces
from kubesvc.apiserver.allocation import Allocator, IPRange, PortRange
from kubesvc.apiserver.bootstrap import bootstrap
from kubesvc.apiserver.gc import GarbageCollector
from kubesvc.apiserver.http import build_app
from kubesvc.apiserver.registry import Registry
from kubesvc.apiserver.repair import Repair
from kubesvc.store import open_store

log = logging.getLogger("kubesvc.apiserver")


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    data_dir: Path
    bind_address: str = "127.0.0.1"
    port: int = 6443
    advertise_address: str = ""
    service_cidr: str = "10.96.0.0/12"
    node_port_range: str = "30000-32767"
    repair_interval: float = 180.0  # upstream: 3 minutes
    store_history: int = 20000
    also_bind: tuple[str, ...] = ()  # more addresses to listen on (e.g. the host's underlay IP)


def kubeconfig_text(server: str, namespace: str = "default") -> str:
    return (
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        f"- cluster:\n    server: {server}\n  name: kubesvc\n"
        "contexts:\n"
        f"- context:\n    cluster: kubesvc\n    namespace: {namespace}\n    user: kubesvc\n"
        "  name: kubesvc\n"
        "current-context: kubesvc\n"
        "preferences: {}\n"
        "users:\n"
        "- name: kubesvc\n  user: {}\n"
    )


def kubeconfig_path(data_dir: Path) -> Path:
    return data_dir / "kubeconfig"


def write_kubeconfig(data_dir: Path, server: str) -> Path:
    path = kubeconfig_path(data_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(kubeconfig_text(server))
    os.replace(tmp, path)
    return path


async def serve(config: Config, started: asyncio.Event | None = None) -> None:
    """Run the API server until cancelled."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        kubeconfig_path(config.data_dir).unlink()
    store = open_store(config.data_dir, history=config.store_history)
    await store.start()
    runner: web.AppRunner | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        allocator = Allocator(
            IPRange.parse(config.service_cidr), PortRange.parse(config.node_port_range)
        )
        registry = Registry(store, allocator)
        repair = Repair(registry, config.repair_interval)
        repair.log_pass(await repair.run_once())  # also fills the allocator's hint
        runner = web.AppRunner(build_app(registry), access_log=None, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, config.bind_address, config.port, reuse_address=True)
        await site.start()
        port = _bound_port(runner) or config.port
        for address in config.also_bind:
            await web.TCPSite(runner, address, port, reuse_address=True).start()
        advertise = config.advertise_address or config.bind_address
        await bootstrap(registry, advertise, port)
        tasks.append(asyncio.create_task(repair.run()))
        tasks.append(asyncio.create_task(namespaces.run(registry)))
        tasks.append(asyncio.create_task(GarbageCollector(registry).run()))
        path = write_kubeconfig(config.data_dir, f"http://{_host(config.bind_address)}:{port}")
        log.info("serving on %s:%d, kubeconfig %s", config.bind_address, port, path)
        if started is not None:
            started.set()
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(FileNotFoundError):
            kubeconfig_path(config.data_dir).unlink()  # its presence means "serving"
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if runner is not None:
            await runner.cleanup()
        await store.close()


def _bound_port(runner: web.AppRunner) -> int | None:
    for site in runner.sites:
        server = getattr(site, "_server", None)
        for sock in getattr(server, "sockets", None) or []:
            return int(sock.getsockname()[1])
    return None


def _host(address: str) -> str:
    if address in ("0.0.0.0", ""):
        return "127.0.0.1"
    if ":" in address:
        return f"[{address}]"
    return address
