"""Bring a cluster's network up and down: glue between the pure plan and `ip.py`.

`up(t)` refuses to run when the host already routes part of a cluster CIDR through another
device, takes an inventory of what exists, and runs `t.commands(inventory)`: one host batch, then
every namespace's batch in parallel while the sysctls are written. It is idempotent: run it again
and only `replace`/`set` lines run. A first build that fails is removed again. It does not remove
stale pieces of an older, different plan; call `down(cluster)` first for that (the CLI does, to
clean up after a crash).

`down(cluster)` works from names alone, so it also cleans what a crashed run left: it kills the
processes inside the cluster's namespaces (by pid), deletes the host veth (its routes go with it)
and every `ks-ID-*` namespace (node ends, pod veths and bridges go with them), removes
`/etc/netns/ks-ID-*`, and returns what it removed. Nothing without the cluster id in its name is
touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubesvc.net import ip, plan
from kubesvc.net.plan import Inventory, Topology


class TopologyError(RuntimeError):
    """The network cannot be built here (no root, conflicting routes) or failed to build."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Leftovers:
    """Everything on this machine that carries one cluster's id."""

    netns: tuple[str, ...]
    host_links: tuple[str, ...]
    host_routes: tuple[str, ...]
    etc_dirs: tuple[str, ...]
    pids: tuple[tuple[str, int], ...]

    def describe(self) -> list[str]:
        return [
            *(f"pid {pid} (netns {ns})" for ns, pid in self.pids),
            *(f"route {route}" for route in self.host_routes),
            *(f"link {link}" for link in self.host_links),
            *(f"netns {ns}" for ns in self.netns),
            *(f"dir {path}" for path in self.etc_dirs),
        ]


def inventory(t: Topology) -> Inventory:
    """The namespaces and links of `t` that exist now (no process at all when none do)."""
    existing = set(ip.netns_list())
    links: dict[str, list[str]] = {}
    for ns in t.netns_names:
        if ns in existing:
            links[ns] = ip.links(ns)
    if ip.host_link_exists(t.host_veth):
        links[""] = [t.host_veth]
    return Inventory.of(existing, links)


def up(t: Topology) -> None:
    """Create (or complete) the topology `t`; see the module docstring."""
    reason = ip.support()
    if reason is not None:
        raise TopologyError(reason)
    conflicts = plan.route_conflicts(t, ip.host_routes())
    if conflicts:
        raise TopologyError(
            "the host already routes addresses of this cluster's CIDRs: "
            + "; ".join(conflicts)
            + " (choose other --node-cidr/--pod-cidr/--service-cidr)"
        )
    have = inventory(t)
    fresh = not (have.netns & set(t.netns_names) or have.has_link(None, t.host_veth))
    try:
        ip.run_stages(t.commands(have), t.sysctls)
    except (ip.IpError, OSError) as err:
        if fresh:  # leave nothing half-built behind; a re-apply keeps what was running
            down(t.cluster)
        raise TopologyError(f"building the network of cluster {t.cluster} failed: {err}") from err


def leftovers_of(cluster: str) -> Leftovers:
    prefix = plan.netns_prefix(cluster)
    netns = tuple(ns for ns in ip.netns_list() if ns.startswith(prefix))
    veth = plan.host_veth(cluster)
    has_veth = ip.host_link_exists(veth)
    routes = ip.host_routes() if has_veth else []
    pids = ip.netns_pids(netns)
    return Leftovers(
        netns=netns,
        host_links=(veth,) if has_veth else (),
        host_routes=tuple(_route_text(r) for r in routes if r.get("dev") == veth),
        etc_dirs=tuple(str(p) for p in ip.etc_dirs(prefix)),
        pids=tuple((ns, pid) for ns in netns for pid in sorted(pids.get(ns, []))),
    )


def leftovers(cluster: str) -> list[str]:
    """What carries this cluster's id on this machine, one line each (empty when clean)."""
    return leftovers_of(cluster).describe()


def down(cluster: str) -> list[str]:
    """Remove everything carrying the cluster id; return what was removed. Safe when clean."""
    found = leftovers_of(cluster)
    pids = found.pids
    for _ in range(5):  # again, for children forked while we looked
        if not pids:
            break
        ip.kill(pid for _, pid in pids)
        pids = tuple((ns, pid) for ns, group in ip.netns_pids(found.netns).items() for pid in group)
    ip.run_stages((plan.teardown_stage(found.host_links, found.netns),))
    for directory in found.etc_dirs:
        ip.remove_etc(directory.rsplit("/", 1)[-1])
    ip.remove_etc_root_if_empty()
    remaining = leftovers_of(cluster)
    if remaining.describe():
        raise TopologyError(f"could not remove: {', '.join(remaining.describe())}")
    return found.describe()


_NETNS_RE = re.compile(r"ks-([a-z0-9]{1,6})-(underlay|node-[0-9]+|p-.+)")


def clusters() -> list[str]:
    """Ids of the clusters that have namespaces on this machine (running or left by a crash)."""
    found = {m.group(1) for ns in ip.netns_list() if (m := _NETNS_RE.fullmatch(ns))}
    return sorted(found)


def _route_text(route: dict[str, object]) -> str:
    words = [str(route.get("dst", "?"))]
    if "gateway" in route:
        words += ["via", str(route["gateway"])]
    words += ["dev", str(route.get("dev", "?"))]
    return " ".join(words)
