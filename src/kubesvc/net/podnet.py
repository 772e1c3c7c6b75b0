"""A pod's network namespace: attach it to its node's `cni0`, give it /etc files, run in it.

`attach` plans (`plan.plan_pod`) and applies in two rounds of `ip` (about 10 ms): the host creates
the namespace and the veth with one end in the node and `eth0` in the pod; then the node enslaves
its end to `cni0` (hairpin on, so a pod can reach itself through a Service VIP) while the pod gets
its address, `lo` and a default route via the node's `cni0` address. Attaching an existing pod
again only re-applies addresses and routes. A veth of the same name left in the node by a pod
namespace that some process still holds is removed and the attach retried once.

`detach` deletes the pod's `eth0` (and so the node's end at once, even if a process still holds
the namespace), the namespace and `/etc/netns/<netns>`. It does not kill processes: stop them first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from kubesvc.net import ip, plan
from kubesvc.net.plan import POD_LINK, Batch, PlanError, PodNet, Topology, exec_argv

__all__ = [
    "PodNet",
    "PodNetError",
    "attach",
    "detach",
    "exec_argv",
    "node_exec_argv",
    "write_etc",
]

_POD_NETNS_RE = re.compile(r"ks-[a-z0-9]{1,6}-p-[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?")


class PodNetError(RuntimeError):
    """Attaching or detaching a pod's network failed."""


def _check(pod_netns: str) -> str:
    if not _POD_NETNS_RE.fullmatch(pod_netns):
        raise PlanError(f"{pod_netns!r} is not a kubesvc pod namespace name (ks-ID-p-NAME)")
    return pod_netns


def attach(t: Topology, node: str, pod_netns: str, pod_ip: str) -> PodNet:
    """Create (or complete) the pod's namespace and veth on `node`; see the module docstring."""
    pod = plan.plan_pod(t, node, pod_netns, pod_ip)
    have_netns = ip.netns_exists(pod_netns)
    have_link = have_netns and POD_LINK in ip.links(pod_netns)
    try:
        try:
            ip.run_stages(pod.commands(have_netns=have_netns, have_link=have_link))
        except ip.IpError as err:
            if have_link or "File exists" not in err.stderr:
                raise
            ip.run_stages((pod.stale_link_commands(),))
            ip.run_stages(pod.commands(have_netns=ip.netns_exists(pod_netns)))
    except (ip.IpError, OSError) as err:
        if not have_netns:
            detach(pod_netns)
        raise PodNetError(f"attaching {pod_netns} ({pod_ip}) to {pod.node} failed: {err}") from err
    return pod


def detach(pod_netns: str) -> None:
    """Remove the pod's veth, namespace and /etc/netns directory; safe if already gone."""
    _check(pod_netns)
    if ip.netns_exists(pod_netns):
        ip.run_stages(
            (
                (Batch(netns=pod_netns, lines=(f"link del {POD_LINK}",), force=True),),
                (Batch(netns=None, lines=(f"netns del {pod_netns}",), force=True),),
            )
        )
    ip.remove_etc(pod_netns)
    if ip.netns_exists(pod_netns):
        raise PodNetError(f"could not delete network namespace {pod_netns}")


def write_etc(pod_netns: str, resolv_conf: str, hosts: str) -> Path:
    """Write the pod's resolv.conf and hosts where `ip netns exec` bind-mounts them from."""
    return ip.write_etc(_check(pod_netns), {"resolv.conf": resolv_conf, "hosts": hosts})


def node_exec_argv(node_netns: str, argv: Sequence[str]) -> list[str]:
    """The argv running `argv` inside a node's network namespace (for `kubesvc node-shell`)."""
    return exec_argv(node_netns, argv)
