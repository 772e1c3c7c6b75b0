"""A pod's /etc/resolv.conf, formed as the kubelet's dns.Configurer.GetPodDNS forms it.

The pod's dnsPolicy picks the base: ClusterFirst (and ClusterFirstWithHostNet) uses the cluster
DNS server alone, the search path `NS.svc.DOMAIN svc.DOMAIN DOMAIN` followed by the host's
search domains, and `options ndots:5`; ClusterFirst on a hostNetwork pod, and Default, use the
host's resolv.conf (nameservers, search, options); None starts empty. The pod's dnsConfig is then
appended: nameservers and searches de-duplicated in order, options merged by name (the pod's
value wins). Limits are applied last: at most 3 nameservers, 32 search domains, each at most 253
characters, 2048 characters in all (domains dropped from the end).

`host_resolv` is the text of the node's resolv.conf; empty means the kubelet ran with
`--resolv-conf=""`, where host DNS falls back to `nameserver 127.0.0.1` and no search path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_NAMESERVERS = 3
MAX_SEARCH_PATHS = 32
MAX_SEARCH_CHARS = 2048
MAX_SEARCH_PATH_LENGTH = 253
DEFAULT_OPTIONS = ("ndots:5",)
_POLICIES = frozenset({"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"})


@dataclass(frozen=True, slots=True, kw_only=True)
class DNSConfig:
    """The three things a resolv.conf holds."""

    servers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    def render(self) -> str:
        lines = [f"nameserver {server}" for server in self.servers]
        searches = [] if self.searches == (".",) else list(self.searches)
        if searches:
            lines.append("search " + " ".join(searches))
        if self.options:
            lines.append("options " + " ".join(self.options))
        return "".join(line + "\n" for line in lines)


def parse(text: str) -> DNSConfig:
    """parseResolvConf: nameservers accumulate, the last search and options lines win."""
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        fields = stripped.split()
        if not fields:
            continue
        if fields[0] == "nameserver" and len(fields) >= 2:
            servers.append(fields[1])
        elif fields[0] == "search":
            searches = [field.removesuffix(".") for field in fields[1:]]
        elif fields[0] == "options":
            options = fields[1:]
    return DNSConfig(servers=tuple(servers), searches=tuple(searches), options=tuple(options))


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _merge_options(existing: tuple[str, ...], extra: list[dict[str, Any]]) -> tuple[str, ...]:
    merged: dict[str, str] = {}
    for text in existing:
        name, _, value = text.partition(":")
        merged[name] = value
    for option in extra:
        merged[str(option.get("name", ""))] = str(option.get("value") or "")
    return tuple(f"{name}:{value}" if value else name for name, value in merged.items())


def _fit_searches(searches: tuple[str, ...]) -> tuple[str, ...]:
    kept = [s for s in searches[:MAX_SEARCH_PATHS] if len(s) <= MAX_SEARCH_PATH_LENGTH]
    while kept and len(" ".join(kept)) > MAX_SEARCH_CHARS:
        kept.pop()
    return tuple(kept)


def pod_dns(
    namespace: str,
    nameserver: str = "10.96.0.10",
    cluster_domain: str = "cluster.local",
    dns_policy: str = "ClusterFirst",
    dns_config: dict[str, Any] | None = None,
    host_resolv: str = "",
    *,
    host_network: bool = False,
) -> DNSConfig:
    """GetPodDNS: the servers, search path and options of a pod."""
    host = parse(host_resolv)
    policy = dns_policy if dns_policy in _POLICIES else "ClusterFirst"  # as the kubelet falls back
    if policy == "ClusterFirst" and host_network:
        policy = "Default"
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet") and not nameserver:
        policy = "Default"  # the kubelet has no cluster DNS: MissingClusterDNS, fall back
    if policy == "None":
        config = DNSConfig()
    elif policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        cluster = (
            [f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain]
            if cluster_domain
            else []
        )
        config = DNSConfig(
            servers=(nameserver,),
            searches=_unique(cluster + list(host.searches)),
            options=DEFAULT_OPTIONS,
        )
    elif host_resolv:
        config = host
    else:
        config = DNSConfig(servers=("127.0.0.1",), searches=(".",), options=host.options)
    if dns_config:
        config = DNSConfig(
            servers=_unique([*config.servers, *(dns_config.get("nameservers") or [])]),
            searches=_unique([*config.searches, *(dns_config.get("searches") or [])]),
            options=_merge_options(config.options, dns_config.get("options") or []),
        )
    return DNSConfig(
        servers=config.servers[:MAX_NAMESERVERS],
        searches=_fit_searches(config.searches),
        options=config.options,
    )


def render(
    namespace: str,
    nameserver: str = "10.96.0.10",
    cluster_domain: str = "cluster.local",
    dns_policy: str = "ClusterFirst",
    dns_config: dict[str, Any] | None = None,
    host_resolv: str = "",
    *,
    host_network: bool = False,
) -> str:
    """The text of the pod's /etc/resolv.conf."""
    return pod_dns(
        namespace,
        nameserver,
        cluster_domain,
        dns_policy,
        dns_config,
        host_resolv,
        host_network=host_network,
    ).render()
