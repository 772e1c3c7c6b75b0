"""The Kubernetes DNS specification (schema 1.1.0): a question → the records that answer it.

Pure. `answer(view, config, qname, qtype)` reads the `View` and returns an `Answer` (rcode and
the answer, authority and additional sections as `Record`s in zone-file form), or None when the
name is not ours to answer and should be forwarded. The behaviour follows CoreDNS's `kubernetes`
plugin as kubeadm configures it (`pods insecure`, reverse zones with fallthrough):

- `SVC.NS.svc.ZONE`: A/AAAA of the ClusterIPs; for a headless Service one record per ready
  endpoint (NXDOMAIN while none is ready); ExternalName gives a CNAME, followed by the target's
  records when the target is in the zone, or `chase` set so the server resolves it upstream.
- `ENDPOINT.SVC.NS.svc.ZONE`: the endpoints whose hostname (else dashed IP) is ENDPOINT.
- SRV for `_PORT._PROTO.SVC.NS.svc.ZONE` (named ports) and for the plain Service name (every
  port): priority 0, weight `100 / n` rounded down (n = matching endpoint × port pairs, at
  least 1), target the Service name (ClusterIP) or each endpoint's name (headless), with the
  targets' addresses in the additional section.
- `a-b-c-d.NS.pod.ZONE` answers the IP in its name (`pods insecure`; `verified` also needs a pod
  with that IP in NS; `disabled` answers NXDOMAIN).
- PTR for ClusterIPs (the Service name) and ready endpoint IPs (each endpoint's name); other
  reverse names are not ours (forwarded, CoreDNS's `fallthrough in-addr.arpa ip6.arpa`).
- `dns-version.ZONE` TXT "1.1.0" (TTL 28800, as CoreDNS); the apex answers SOA and NS (the
  addresses of the Service whose endpoints are this server's own IPs, else `ns.dns.ZONE` with
  those IPs).
- A known name asked for another type is NODATA (NOERROR, empty), also `svc.ZONE`, `pod.ZONE`
  and `NS.svc.ZONE` for an existing namespace; an unknown name is NXDOMAIN. Both carry the SOA
  (`ns.dns.ZONE hostmaster.ZONE SERIAL 7200 1800 86400 TTL`, serial = the view's last change)
  in the authority section. Names compare case-insensitively; answers echo the question's case.

Three corners are stricter than CoreDNS: an SRV name (`_PORT._PROTO...`) asked for A is NODATA
(CoreDNS answers the address), `dns-version.ZONE` asked for another type is NODATA (CoreDNS:
NXDOMAIN), and a label in front of a pod name is NXDOMAIN (CoreDNS ignores it).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from kubesvc.dns.view import Service, View

SCHEMA_VERSION = "1.1.0"
VERSION_TTL = 28800
MAX_CHAIN = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    zone: str = "cluster.local"
    ttl: int = 30
    pods: str = "insecure"  # insecure | verified | disabled
    local_ips: tuple[str, ...] = ()  # this server's own addresses (for the NS records)

    @property
    def origin(self) -> str:
        """The zone as an absolute lower-case name: `cluster.local.`."""
        return self.zone.strip(".").lower() + "."


@dataclass(frozen=True, slots=True)
class Record:
    """One resource record; `data` is its RDATA in zone-file presentation form."""

    name: str
    type: str
    ttl: int
    data: str

    def __str__(self) -> str:
        return f"{self.name} {self.ttl} IN {self.type} {self.data}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    rcode: str  # NOERROR | NXDOMAIN
    answer: tuple[Record, ...] = ()
    authority: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()
    chase: str = ""  # an out-of-zone CNAME target for the server to resolve upstream


@dataclass(frozen=True, slots=True)
class _Target:
    """Where a name points: an address, its host name (SRV target) and port (-1: none)."""

    host: str
    ip: str
    port: int


@dataclass(slots=True)
class _Found:
    records: list[Record] = field(default_factory=list)
    additional: list[Record] = field(default_factory=list)
    chase: str = ""


def in_zone(config: Config, qname: str) -> bool:
    name = _absolute(qname)
    return name == config.origin or name.endswith("." + config.origin)


def reverse_ip(qname: str) -> str | None:
    """The address a full in-addr.arpa / ip6.arpa name stands for; None for anything else."""
    name = _absolute(qname)
    try:
        if name.endswith(".in-addr.arpa."):
            labels = name[: -len(".in-addr.arpa.")].split(".")
            if len(labels) == 4 and all(label.isdigit() for label in labels):
                return str(ipaddress.IPv4Address(".".join(reversed(labels))))
        elif name.endswith(".ip6.arpa."):
            nibbles = name[: -len(".ip6.arpa.")].split(".")
            if len(nibbles) == 32 and all(len(n) == 1 for n in nibbles):
                digits = "".join(reversed(nibbles))
                groups = ":".join(digits[i : i + 4] for i in range(0, 32, 4))
                return str(ipaddress.IPv6Address(groups))
    except ValueError:
        return None
    return None


def answer(view: View, config: Config, qname: str, qtype: str) -> Answer | None:
    """The answer to one question; None when the name is outside our zones (forward it)."""
    if in_zone(config, qname):
        return _Lookup(view, config, qname, qtype).run()
    ip = reverse_ip(qname)
    if ip is not None and qtype == "PTR":
        records = _ptr(view, config, qname, ip)
        if records:
            return Answer(rcode="NOERROR", answer=tuple(records))
    return None


def soa(view: View, config: Config) -> Record:
    origin = config.origin
    data = f"ns.dns.{origin} hostmaster.{origin} {view.modified} 7200 1800 86400 {config.ttl}"
    return Record(origin, "SOA", min(config.ttl, 300), data)


def _absolute(name: str) -> str:
    name = name.lower()
    return name if name.endswith(".") else name + "."


def _ptr(view: View, config: Config, qname: str, ip: str) -> list[Record]:
    origin, ttl = config.origin, config.ttl
    for service in view.services_by_ip(ip):
        return [Record(qname, "PTR", ttl, f"{service.name}.{service.namespace}.svc.{origin}")]
    records: list[Record] = []
    for slice_ in view.slices_by_ip(ip):
        for endpoint in slice_.endpoints:
            if endpoint.ip == ip:
                target = f"{endpoint.name}.{slice_.service}.{slice_.namespace}.svc.{origin}"
                record = Record(qname, "PTR", ttl, target)
                if record not in records:
                    records.append(record)
    return records


def _family(ip: str) -> str:
    return "AAAA" if ":" in ip else "A"


def _weight(count: int) -> int:
    return max(1, 100 // max(count, 1))


class _Lookup:
    """One question inside the zone; `run` decides NXDOMAIN, NODATA or the records."""

    def __init__(self, view: View, config: Config, qname: str, qtype: str, depth: int = 0):
        self.view, self.config, self.qtype, self.depth = view, config, qtype, depth
        self.qname = qname if qname.endswith(".") else qname + "."
        self.ttl = config.ttl

    def run(self) -> Answer:
        name = _absolute(self.qname)
        rest = name[: -len(self.config.origin)].rstrip(".")
        found = self._find(rest.split(".") if rest else [])
        if found is None:
            return Answer(rcode="NXDOMAIN", authority=(soa(self.view, self.config),))
        if not found.records:
            return Answer(rcode="NOERROR", authority=(soa(self.view, self.config),))
        return Answer(
            rcode="NOERROR",
            answer=tuple(found.records),
            additional=tuple(found.additional),
            chase=found.chase,
        )

    def _find(self, labels: list[str]) -> _Found | None:
        """The records for the name (None: the name does not exist)."""
        if not labels:
            return self._apex()
        if labels == ["dns-version"]:
            found = _Found()
            if self.qtype == "TXT":
                found.records.append(Record(self.qname, "TXT", VERSION_TTL, f'"{SCHEMA_VERSION}"'))
            return found
        if labels == ["ns", "dns"]:
            return self._addresses([_Target(h, ip, -1) for h, ip in self._ns_addresses()])
        kind = labels[-1]
        if kind not in ("svc", "pod"):
            return None
        if len(labels) == 1:
            return _Found()
        namespace = labels[-2]
        if not self.view.namespace_exists(namespace):
            return None
        if len(labels) == 2:
            return _Found()
        if kind == "pod":
            return self._pod(labels[:-2], namespace) if len(labels) == 3 else None
        service = self.view.service(namespace, labels[-3])
        if service is None or len(labels) > 5:
            return None
        if len(labels) == 3:
            return self._service(service)
        if service.kind == "ExternalName":
            return None
        if len(labels) == 4:
            return self._endpoint(service, labels[0])
        port, proto = labels[0], labels[1]
        if not (port.startswith("_") and proto.startswith("_")):
            return None
        return self._srv_name(service, port[1:], proto[1:])

    # -- the zone's own names -----------------------------------------------------------------

    def _apex(self) -> _Found:
        found = _Found()
        if self.qtype == "SOA":
            found.records.append(soa(self.view, self.config))
        elif self.qtype == "NS":
            for host, ip in self._ns_addresses():
                record = Record(self.qname, "NS", self.ttl, host)
                if record not in found.records:
                    found.records.append(record)
                found.additional.append(Record(host, _family(ip), self.ttl, ip))
            if not found.records:
                found.records.append(Record(self.qname, "NS", self.ttl, self._ns_name()))
        return found

    def _ns_name(self) -> str:
        return f"ns.dns.{self.config.origin}"

    def _ns_addresses(self) -> list[tuple[str, str]]:
        """This server's names and addresses: the Service whose endpoints are our own IPs."""
        origin, found = self.config.origin, []
        for local in self.config.local_ips:
            for slice_ in self.view.slices_by_ip(local):
                service = self.view.service(slice_.namespace, slice_.service)
                if service is None:
                    continue
                name = f"{service.name}.{service.namespace}.svc.{origin}"
                if service.kind == "ClusterIP":
                    found += [(name, ip) for ip in service.cluster_ips]
                elif service.kind == "Headless":
                    found += [(f"{e.name}.{name}", e.ip) for e in slice_.endpoints]
        unique = list(dict.fromkeys(found))
        return unique or [(self._ns_name(), ip) for ip in self.config.local_ips]

    # -- services, endpoints, pods ------------------------------------------------------------

    def _service_name(self, service: Service) -> str:
        return f"{service.name}.{service.namespace}.svc.{self.config.origin}"

    def _service(self, service: Service) -> _Found | None:
        if service.kind == "ExternalName":
            return self._external(service)
        if service.kind == "Headless":
            return self._targets(self._endpoint_targets(service, None, None, None))
        targets = [
            _Target(self._service_name(service), ip, port.port)
            for port in service.ports
            for ip in service.cluster_ips
        ]
        return self._targets(targets) if service.ports else None

    def _endpoint(self, service: Service, label: str) -> _Found | None:
        return self._targets(self._endpoint_targets(service, label, None, None))

    def _srv_name(self, service: Service, port: str, proto: str) -> _Found | None:
        if service.kind == "Headless":
            return self._targets(
                self._endpoint_targets(service, None, port, proto), addresses=False
            )
        matching = [p for p in service.ports if p.name == port and p.protocol == proto]
        if not matching:
            return None
        name = self._service_name(service)
        targets = [_Target(name, ip, p.port) for p in matching for ip in service.cluster_ips]
        return self._targets(targets, addresses=False)

    def _endpoint_targets(
        self, service: Service, label: str | None, port: str | None, proto: str | None
    ) -> list[_Target] | None:
        """Ready endpoint × port pairs (port -1 for a slice without ports); None if none."""
        targets: list[_Target] = []
        for slice_ in self.view.slices_of(service.namespace, service.name):
            ports = [(p.name, p.protocol, p.port) for p in slice_.ports] or [("", "", -1)]
            if port is not None:
                ports = [p for p in ports if p[0] == port and p[1] == proto]
            for endpoint in slice_.endpoints:
                if label is not None and endpoint.name != label:
                    continue
                host = f"{endpoint.name}.{self._service_name(service)}"
                targets += [_Target(host, endpoint.ip, number) for _, _, number in ports]
        return targets or None

    def _targets(self, targets: list[_Target] | None, *, addresses: bool = True) -> _Found | None:
        """A/AAAA (when `addresses`) or SRV records for a set of targets; other types NODATA."""
        if targets is None:
            return None
        if self.qtype == "SRV":
            return self._srv(targets)
        return self._addresses(targets) if addresses else _Found()

    def _addresses(self, targets: list[_Target]) -> _Found:
        found = _Found()
        if self.qtype in ("A", "AAAA"):
            ips = dict.fromkeys(t.ip for t in targets if _family(t.ip) == self.qtype)
            found.records = [Record(self.qname, self.qtype, self.ttl, ip) for ip in ips]
        return found

    def _srv(self, targets: list[_Target]) -> _Found:
        found, weight = _Found(), _weight(len(targets))
        for target in targets:
            if target.port < 0:
                continue
            srv = Record(self.qname, "SRV", self.ttl, f"0 {weight} {target.port} {target.host}")
            if srv not in found.records:
                found.records.append(srv)
            glue = Record(target.host, _family(target.ip), self.ttl, target.ip)
            if glue not in found.additional:
                found.additional.append(glue)
        return found

    def _external(self, service: Service) -> _Found:
        found, target = _Found(), service.external_name + "."
        if self.qtype == "SRV":
            found.records.append(Record(self.qname, "SRV", self.ttl, f"0 100 0 {target}"))
            return found
        if self.qtype not in ("A", "AAAA", "CNAME"):
            return found
        found.records.append(Record(self.qname, "CNAME", self.ttl, target))
        if self.qtype == "CNAME":
            return found
        if not in_zone(self.config, target):
            found.chase = target
        elif self.depth < MAX_CHAIN:
            followed = _Lookup(self.view, self.config, target, self.qtype, self.depth + 1).run()
            found.records += followed.answer
            found.chase = followed.chase
        return found

    def _pod(self, labels: list[str], namespace: str) -> _Found | None:
        if self.config.pods == "disabled":
            return None
        name = labels[0]
        if name.count("-") == 3 and "--" not in name:
            text = name.replace("-", ".")
        else:
            text = name.replace("-", ":")
        try:
            ip = str(ipaddress.ip_address(text))
        except ValueError:
            return None
        if self.config.pods == "verified" and not any(
            pod.namespace == namespace for pod in self.view.pods_by_ip(ip)
        ):
            return None
        return self._addresses([_Target(name, ip, -1)])
