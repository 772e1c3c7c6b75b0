"""One pod on a node: its sandbox (network namespace, /etc files) and its containers' lives.

`PodWorker.run` allocates the pod's IP, attaches its namespace to the node's `cni0`, writes its
resolv.conf and hosts, then runs one loop per container: resolve the image to an argv, build the
environment, start the process inside the pod's namespaces, wait for it, and restart it by the
pod's restartPolicy with the kubelet's back-off. Probes run beside each container. Every change
marks the status dirty; a publisher sends the kubelet-style status at most every 100 ms.
`stop` ends the containers (SIGTERM, then SIGKILL after the grace period) and removes the sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.net import podnet
from kubesvc.node import envvars, expand, images, podstatus, probes, resolvconf, runtime
from kubesvc.node.podstatus import ContainerView

log = logging.getLogger("kubesvc.node")

Obj = dict[str, Any]


@dataclass
class NodeContext:
    """What every pod worker of one node shares."""

    node: str
    node_ip: str
    cluster: str
    topology: Any
    data_dir: Path
    image_table: images.ImageTable
    services: Callable[[], list[Obj]]
    lookup: Callable[[str, str, str], Obj | None]  # (kind, namespace, name)
    publish: Callable[[Obj, Obj], Any]  # (pod, status) → awaitable
    dns_ip: str = "10.96.0.10"
    cluster_domain: str = "cluster.local"
    ipam: set[str] = field(default_factory=set)
    ipam_last: int = 1  # the last host number handed out

    def allocate_ip(self) -> str:
        """The next free address after the last one handed out, wrapping round (as the CNI
        host-local plugin does), so a deleted pod's address is not reused at once."""
        base = self.topology.node(self.node).pod_subnet.rsplit(".", 1)[0]
        for step in range(253):
            last = 2 + (self.ipam_last - 1 + step) % 253
            candidate = f"{base}.{last}"
            if candidate not in self.ipam:
                self.ipam.add(candidate)
                self.ipam_last = last
                return candidate
        raise RuntimeError(f"no free pod address on {self.node}")


@dataclass
class ContainerLife:
    spec: Obj
    view: ContainerView
    process: runtime.Process | None = None
    runs: int = 0  # processes started so far; names the log file of each run
    started: bool = True  # false until a startup probe succeeds


def hosts_file(pod: Obj, ip: str) -> str:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    hostname = spec.get("hostname") or meta["name"]
    names = [hostname]
    if spec.get("subdomain"):
        names.insert(0, f"{hostname}.{spec['subdomain']}.{meta['namespace']}.svc.cluster.local")
    lines = [
        "# Kubernetes-managed hosts file (kubesvc).",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
        f"{ip}\t{' '.join(names)}",
    ]
    for alias in spec.get("hostAliases") or []:
        lines.append(
            f"\n# Entries added by HostAliases.\n{alias.get('ip')}\t"
            + "\t".join(alias.get("hostnames") or [])
        )
    return "\n".join(lines) + "\n"


class PodWorker:
    def __init__(self, ctx: NodeContext, pod: Obj) -> None:
        self.ctx = ctx
        self.pod = pod
        self.uid = str(pod["metadata"]["uid"])
        self.netns = f"ks-{ctx.cluster}-p-{self.uid.replace('-', '')[:12]}"
        self.ip = ""
        self.started_at = datetime.now(UTC)
        self.lives = {
            c["name"]: ContainerLife(
                spec=c,
                view=ContainerView.waiting(c["name"], c.get("image", ""), "ContainerCreating", ""),
            )
            for c in (pod.get("spec") or {}).get("containers") or []
        }
        self.tasks: list[asyncio.Task[None]] = []
        self._dirty = asyncio.Event()
        self._stopping = False

    @property
    def log_dir(self) -> Path:
        meta = self.pod["metadata"]
        return self.ctx.data_dir / "pods" / f"{meta['namespace']}_{meta['name']}_{self.uid}"

    def update(self, pod: Obj) -> None:
        self.pod = pod

    def mark(self) -> None:
        self._dirty.set()

    # ------------------------------------------------------------------ sandbox

    async def _sandbox(self) -> None:
        self.ip = self.ctx.allocate_ip()
        await asyncio.to_thread(
            podnet.attach, self.ctx.topology, self.ctx.node, self.netns, self.ip
        )
        spec, meta = self.pod.get("spec") or {}, self.pod["metadata"]
        resolv = resolvconf.render(
            meta["namespace"],
            nameserver=self.ctx.dns_ip,
            cluster_domain=self.ctx.cluster_domain,
            dns_policy=spec.get("dnsPolicy", "ClusterFirst"),
            dns_config=spec.get("dnsConfig"),
        )
        await asyncio.to_thread(podnet.write_etc, self.netns, resolv, hosts_file(self.pod, self.ip))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        (self.log_dir / "sandbox").write_text(f"{self.netns}\n{self.ip}\n")

    # ------------------------------------------------------------------ containers

    def _environment(self, container: Obj) -> dict[str, str]:
        meta, spec = self.pod["metadata"], self.pod.get("spec") or {}
        service_env = envvars.service_env(
            self.ctx.services(),
            meta["namespace"],
            spec.get("enableServiceLinks", True) is not False,
        )
        pod = dict(
            self.pod,
            status=dict(
                self.pod.get("status") or {},
                podIP=self.ip,
                podIPs=[{"ip": self.ip}],
                hostIP=self.ctx.node_ip,
            ),
        )
        pairs = envvars.container_env(
            pod,
            container,
            service_env,
            lookup_configmap=lambda n: self.ctx.lookup("ConfigMap", meta["namespace"], n),
            lookup_secret=lambda n: self.ctx.lookup("Secret", meta["namespace"], n),
        )
        base = {
            "PATH": os.environ.get(
                "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            ),
            "HOSTNAME": spec.get("hostname") or meta["name"],
            "HOME": "/root",
        }
        entry = self.ctx.image_table.lookup(container.get("image", ""))
        if entry is not None:
            base.update(entry.env)  # the image's ENV; the container's own env wins
        base.update(pairs)
        return base

    def _argv(self, container: Obj, env: dict[str, str]) -> list[str]:
        command = container.get("command")
        args = container.get("args")
        if command is not None:
            command = expand.expand_all(command, env)
        if args is not None:
            args = expand.expand_all(args, env)
        argv = images.resolve(container.get("image", ""), command, args, table=self.ctx.image_table)
        hostname = (self.pod.get("spec") or {}).get("hostname") or self.pod["metadata"]["name"]
        return podnet.exec_argv(self.netns, argv, hostname)

    async def _container(self, life: ContainerLife) -> None:
        name = life.spec["name"]
        policy = (self.pod.get("spec") or {}).get("restartPolicy", "Always")
        while not self._stopping:
            try:
                env = self._environment(life.spec)
                argv = self._argv(life.spec, env)
            except envvars.EnvError as exc:
                life.view = life.view.wait("CreateContainerConfigError", str(exc))
                self.mark()
                await asyncio.sleep(5)
                continue
            except images.ImageError as exc:
                life.view = life.view.wait(exc.reason, exc.message)
                self.mark()
                await asyncio.sleep(10)
                continue
            log_path = self.log_dir / name / f"{life.runs}.log"
            try:
                life.process = await runtime.start(
                    argv,
                    env,
                    log_path,
                    stdin=bool(life.spec.get("stdin")),
                    tty=bool(life.spec.get("tty")),
                    stdin_once=bool(life.spec.get("stdinOnce")),
                )
            except OSError as exc:  # e.g. E2BIG: too many Service variables for execve
                message = f"failed to start container {name!r}: {exc.strerror or exc}"
                life.view = life.view.wait("RunContainerError", message)
                self.mark()
                await asyncio.sleep(10)
                continue
            life.runs += 1
            (self.log_dir / f"{name}.pid").write_text(f"{life.process.pid}\n")
            container_id = f"{self.uid.replace('-', '')[:12]}-{name}-{life.process.pid}"
            life.view = life.view.run(
                life.process.started_at,
                container_id=container_id,
                image_id=images.image_id(life.spec.get("image", "")),
            )
            self.mark()
            probe_tasks = self._start_probes(life)
            code = await life.process.wait()
            for task in probe_tasks:
                task.cancel()
            life.view = life.view.terminate(code, datetime.now(UTC))
            self.mark()
            if self._stopping or not podstatus.should_restart(policy, code):
                return
            delay = podstatus.restart_backoff(life.view.restart_count)
            if delay > 0:
                life.view = life.view.back_off(delay, self.pod)
                self.mark()
                await asyncio.sleep(delay)

    def _start_probes(self, life: ContainerLife) -> list[asyncio.Task[None]]:
        """Startup gates liveness and readiness; without a readiness probe, ready = started."""
        wanted = [
            (life.spec.get("startupProbe"), probes.ProbeKind.STARTUP),
            (life.spec.get("readinessProbe"), probes.ProbeKind.READINESS),
            (life.spec.get("livenessProbe"), probes.ProbeKind.LIVENESS),
        ]
        life.started = not wanted[0][0]
        if wanted[0][0]:
            life.view = life.view.set_started(False)
        if not wanted[1][0]:
            life.view = life.view.set_ready(life.started)
        return [
            asyncio.create_task(self._probe_loop(life, probe, kind))
            for probe, kind in wanted
            if probe
        ]

    def _startup_succeeded(self, life: ContainerLife) -> None:
        life.started = True
        life.view = life.view.set_started(True)
        if not life.spec.get("readinessProbe"):
            life.view = life.view.set_ready(True)
        self.mark()

    async def _probe_loop(self, life: ContainerLife, probe: Obj, kind: probes.ProbeKind) -> None:
        spec = probes.ProbeSpec.from_k8s(probe)
        state = probes.ProbeState.initial(kind)
        started = datetime.now(UTC)
        while True:
            running_for = (datetime.now(UTC) - started).total_seconds()
            if state.should_probe(spec, running_for=running_for, started=life.started):
                outcome, message = await probes.run_probe(
                    spec, life.spec, self.ip, self._exec_in_pod
                )
                state = state.observe(outcome, spec)
                if outcome == probes.ProbeResult.FAILURE:
                    log.debug("%s", probes.failure_event(kind, message))
                if kind == probes.ProbeKind.STARTUP and state.result == probes.ProbeResult.SUCCESS:
                    self._startup_succeeded(life)
                    return
                if kind == probes.ProbeKind.READINESS:
                    ready = state.result == probes.ProbeResult.SUCCESS
                    if ready != life.view.ready:
                        life.view = life.view.set_ready(ready)
                        self.mark()
                elif state.result == probes.ProbeResult.FAILURE and life.process is not None:
                    log.info("%s", probes.restart_message(kind, life.spec["name"]))
                    grace = spec.termination_grace_period_seconds
                    await life.process.stop(float(grace if grace is not None else 30))
                    return
                await asyncio.sleep(spec.period_seconds)
            else:
                await asyncio.sleep(min(1.0, float(spec.initial_delay_seconds) or 1.0))

    async def _exec_in_pod(self, argv: list[str], timeout: float) -> int:
        full = podnet.exec_argv(self.netns, argv)
        proc = await asyncio.create_subprocess_exec(
            *full, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        try:
            return await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return -1

    # ------------------------------------------------------------------ status

    def status(self) -> Obj:
        view = podstatus.PodView(
            containers=tuple(self.lives[c["name"]].view for c in self.pod["spec"]["containers"]),
            pod_ips=(self.ip,) if self.ip else (),
            host_ips=(self.ctx.node_ip,),
            start_time=self.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            sandbox_ready=bool(self.ip),
            terminal=self._stopping,
        )
        return podstatus.pod_status(self.pod, view, now=datetime.now(UTC))

    async def _publisher(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self.ctx.publish(self.pod, self.status())
            except StatusError as exc:
                if exc.code == 404:
                    return
                log.warning("status of %s: %s", self.pod["metadata"]["name"], exc)
                self._dirty.set()
            await asyncio.sleep(0.1)

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        self.tasks.append(asyncio.create_task(self._publisher()))
        self.mark()
        try:
            await self._sandbox()
        except Exception as exc:
            log.exception("sandbox for %s failed", self.pod["metadata"]["name"])
            for life in self.lives.values():
                life.view = life.view.wait("CreateContainerError", f"pod sandbox: {exc}")
            self.mark()
            return
        for life in self.lives.values():
            self.tasks.append(asyncio.create_task(self._container(life)))
        self.mark()

    async def stop(self, grace: float = 30.0) -> None:
        self._stopping = True
        await asyncio.gather(
            *(life.process.stop(grace) for life in self.lives.values() if life.process is not None),
            return_exceptions=True,
        )
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.ip:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(podnet.detach, self.netns)
            self.ctx.ipam.discard(self.ip)
