"""Run a command inside a running pod, node-locally: the pod's network and UTS namespaces, its
/etc/resolv.conf and /etc/hosts, and the environment of one of its containers.

The node agent records each pod's sandbox (`DATA/nodes/NODE/pods/NS_NAME_UID/sandbox`: netns,
IP) and each container's pid (`CONTAINER.pid`); this module finds them and builds the argv and
environment, which is what a container runtime's exec does. `kubectl exec` will carry streams
to the same place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kubesvc.net import podnet


class PodExecError(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Sandbox:
    pod_dir: Path
    netns: str
    ip: str

    def container_pid(self, container: str | None) -> int:
        pids = sorted(self.pod_dir.glob("*.pid"))
        if container is not None:
            pids = [p for p in pids if p.stem == container]
        if not pids:
            what = f"container {container!r}" if container else "a running container"
            raise PodExecError(f"pod has no {what} (see {self.pod_dir})")
        return int(pids[0].read_text().strip())


def find_sandbox(data_dir: Path, namespace: str, pod: str) -> Sandbox:
    matches = sorted(
        data_dir.glob(f"nodes/*/pods/{namespace}_{pod}_*/sandbox"), key=lambda p: p.stat().st_mtime
    )
    if not matches:
        raise PodExecError(
            f'pod "{pod}" in namespace "{namespace}" is not running on any node '
            f"of the cluster in {data_dir}"
        )
    netns, ip = [*matches[-1].read_text().split(), "", ""][:2]
    return Sandbox(pod_dir=matches[-1].parent, netns=netns, ip=ip)


def process_env(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError as exc:
        raise PodExecError(f"the container process {pid} is gone: {exc}") from None
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def sandbox_of(pod_dir: Path) -> Sandbox:
    netns, ip = [*(pod_dir / "sandbox").read_text().split(), "", ""][:2]
    return Sandbox(pod_dir=pod_dir, netns=netns, ip=ip)


def command_in(
    pod_dir: Path, container: str | None, argv: list[str]
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run `argv` in the pod whose agent directory is `pod_dir`."""
    try:
        sandbox = sandbox_of(pod_dir)
    except OSError:
        raise PodExecError(f"the pod in {pod_dir} has no sandbox yet") from None
    env = process_env(sandbox.container_pid(container))
    return podnet.exec_argv(sandbox.netns, argv, env.get("HOSTNAME")), env


def exec_command(
    data_dir: Path, namespace: str, pod: str, container: str | None, argv: list[str]
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run `argv` in the pod as its container would."""
    sandbox = find_sandbox(data_dir, namespace, pod)
    env = process_env(sandbox.container_pid(container))
    hostname = env.get("HOSTNAME", pod)
    return podnet.exec_argv(sandbox.netns, argv or ["sh"], hostname), env
