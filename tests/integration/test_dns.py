"""`kubesvc dns` against a real API server, objects made with kubectl, questions asked with dig.

A real `kubesvc apiserver`, a real `kubesvc dns` on a free 127.0.0.1 port and a fake upstream
resolver (dnslib, in this process, UDP and TCP on loopback) for everything outside
`cluster.local`. No controllers run: the EndpointSlices are written with kubectl the way the
EndpointSlice controller would write them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dnslib import QTYPE, RR, DNSRecord

from tests.conftest import ROOT, ApiServer, Kubectl, free_port, free_udp_and_tcp_port

pytestmark = pytest.mark.integration

OBJECTS = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}, {name: dns, port: 53, protocol: UDP}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: pg, port: 5432}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-abcde
  labels: {kubernetes.io/service-name: db}
addressType: IPv4
ports: [{name: pg, port: 5432, protocol: TCP}]
endpoints:
- addresses: [10.244.1.10]
  hostname: db-0
  conditions: {ready: true}
- addresses: [10.244.2.11]
  conditions: {ready: true}
- addresses: [10.244.3.12]
  conditions: {ready: false}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  type: ExternalName
  externalName: www.upstream.test
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: other}
spec:
  ports: [{port: 443}]
"""


# --- a fake upstream resolver ---------------------------------------------------------------------


@dataclass
class Upstream:
    """Answers `*.upstream.test`: one A record, or 100 for `big.upstream.test` (TC over UDP)."""

    host: str = "127.0.0.1"
    port: int = 0
    tcp_queries: int = 0
    seen: list[str] = field(default_factory=list)

    def answer(self, data: bytes, limit: int) -> bytes:
        request = DNSRecord.parse(data)
        name = str(request.q.qname).lower()
        self.seen.append(name)
        reply = request.reply(ra=1, aa=0)  # a recursive resolver's answer
        reply.header.ad = 0
        if not name.endswith("upstream.test."):
            reply.header.rcode = 3
        elif QTYPE[request.q.qtype] == "A":
            count = 100 if name.startswith("big.") else 1
            for i in range(count):
                reply.add_answer(*RR.fromZone(f"{name} 120 IN A 192.0.2.{i + 10}"))
        packed = bytes(reply.pack())
        if len(packed) > limit:
            truncated = request.reply(ra=1, aa=0)
            truncated.header.tc = 1
            packed = bytes(truncated.pack())
        return packed

    def start(self) -> Callable[[], None]:
        upstream = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                sock.sendto(upstream.answer(data, 512), self.client_address)

        class Tcp(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                (length,) = struct.unpack("!H", self.rfile.read(2))
                upstream.tcp_queries += 1
                reply = upstream.answer(self.rfile.read(length), 65535)
                self.wfile.write(struct.pack("!H", len(reply)) + reply)

        tcp = socketserver.ThreadingTCPServer((self.host, 0), Tcp)
        self.port = tcp.server_address[1]
        udp = socketserver.ThreadingUDPServer((self.host, self.port), Udp)
        for server in (tcp, udp):
            threading.Thread(target=server.serve_forever, daemon=True).start()

        def stop() -> None:
            for server in (tcp, udp):
                server.shutdown()
                server.server_close()

        return stop


# --- the DNS server process -----------------------------------------------------------------------


@dataclass
class DnsProcess:
    port: int
    health: int
    ready: int
    metrics: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    def http(self, port: int, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_dns(
    where: list[str], upstream: Upstream, log_path: Path, port: int | None = None
) -> DnsProcess:
    ports = [port or free_udp_and_tcp_port(), free_port(), free_port(), free_port()]
    cmd = [
        sys.executable,
        "-m",
        "kubesvc.cli.main",
        "dns",
        *where,
        "--listen",
        f"127.0.0.1:{ports[0]}",
        "--upstream",
        f"{upstream.host}:{upstream.port}",
        "--health-port",
        str(ports[1]),
        "--ready-port",
        str(ports[2]),
        "--metrics-port",
        str(ports[3]),
    ]
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=ROOT)
    log.close()
    dns = DnsProcess(ports[0], ports[1], ports[2], ports[3], proc, log_path)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            dns.http(dns.health, "/health")
            return dns
        except OSError:
            time.sleep(0.05)
    dns.stop()
    raise RuntimeError(f"kubesvc dns did not start:\n{log_path.read_text()}")


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    fake = Upstream()
    stop = fake.start()
    try:
        yield fake
    finally:
        stop()


@pytest.fixture(scope="module")
def dns(
    apiserver: ApiServer,
    kubectl: Kubectl,
    upstream: Upstream,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DnsProcess]:
    kubectl("apply", "-f", "-", input=OBJECTS)
    log_path = tmp_path_factory.mktemp("dns") / "dns.log"
    server = start_dns(["--kubeconfig", str(apiserver.kubeconfig)], upstream, log_path)
    try:
        deadline = time.monotonic() + 20
        while server.http(server.ready, "/ready")[0] != 200:
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        yield server
    finally:
        server.stop()
        assert "Traceback" not in log_path.read_text(), log_path.read_text()


# --- dig -----------------------------------------------------------------------------------------


@dataclass
class Dig:
    status: str
    flags: set[str]
    answer: list[str]
    authority: list[str]
    additional: list[str]
    server: str


def dig(server: DnsProcess, *args: str) -> Dig:
    """dig @127.0.0.1 -p PORT ARGS... (a name alone asks for A records)."""
    cmd = ["dig", "@127.0.0.1", "-p", str(server.port), "+tries=1", "+time=5", *args]
    output = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=True).stdout
    status = re.search(r"status: (\w+)", output)
    flags = re.search(r";; flags: ([a-z ]+);", output)
    sections: dict[str, list[str]] = {"ANSWER": [], "AUTHORITY": [], "ADDITIONAL": []}
    current = ""
    for line in output.splitlines():
        heading = re.match(r";; (\w+) SECTION:", line)
        if heading:
            current = heading.group(1)
        elif not line.strip() or line.startswith(";"):
            current = "" if not line.strip() else current
        elif current in sections:
            sections[current].append(" ".join(line.split()))
    used = re.search(r";; SERVER: .*\((\w+)\)", output)
    return Dig(
        status=status.group(1) if status else "",
        flags=set(flags.group(1).split()) if flags else set(),
        answer=sections["ANSWER"],
        authority=sections["AUTHORITY"],
        additional=sections["ADDITIONAL"],
        server=used.group(1) if used else "",
    )


def eventually(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


# --- the tests -----------------------------------------------------------------------------------


def test_cluster_ip_service_over_udp_and_tcp(dns: DnsProcess, kubectl: Kubectl) -> None:
    vip = kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
    for options in ((), ("+tcp",)):
        answer = dig(dns, "web.default.svc.cluster.local", "A", *options)
        assert answer.status == "NOERROR" and answer.flags == {"qr", "aa", "rd"}
        assert answer.answer == [f"web.default.svc.cluster.local. 30 IN A {vip}"]
        assert answer.server == ("TCP" if options else "UDP")
    upper = dig(dns, "WEB.Default.SVC.cluster.local")
    assert upper.answer == [f"WEB.Default.SVC.cluster.local. 30 IN A {vip}"]


def test_headless_service_answers_its_ready_endpoints(dns: DnsProcess) -> None:
    answer = dig(dns, "db.default.svc.cluster.local")
    assert sorted(answer.answer) == [
        "db.default.svc.cluster.local. 30 IN A 10.244.1.10",
        "db.default.svc.cluster.local. 30 IN A 10.244.2.11",
    ]
    assert dig(dns, "db-0.db.default.svc.cluster.local").answer == [
        "db-0.db.default.svc.cluster.local. 30 IN A 10.244.1.10"
    ]


def test_srv_records(dns: DnsProcess, kubectl: Kubectl) -> None:
    vip = kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
    web = dig(dns, "_http._tcp.web.default.svc.cluster.local", "SRV")
    assert web.answer == [
        "_http._tcp.web.default.svc.cluster.local. 30 IN SRV 0 100 80 "
        "web.default.svc.cluster.local."
    ]
    assert web.additional == [f"web.default.svc.cluster.local. 30 IN A {vip}"]
    udp = dig(dns, "_dns._udp.web.default.svc.cluster.local", "SRV")
    assert [line.split()[-2] for line in udp.answer] == ["53"]
    db = dig(dns, "_pg._tcp.db.default.svc.cluster.local", "SRV")
    assert sorted(db.answer) == [
        "_pg._tcp.db.default.svc.cluster.local. 30 IN SRV 0 50 5432 "
        "10-244-2-11.db.default.svc.cluster.local.",
        "_pg._tcp.db.default.svc.cluster.local. 30 IN SRV 0 50 5432 "
        "db-0.db.default.svc.cluster.local.",
    ]
    assert dig(dns, "_nope._tcp.web.default.svc.cluster.local", "SRV").status == "NXDOMAIN"


def test_ptr_records(dns: DnsProcess, kubectl: Kubectl) -> None:
    vip = kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
    assert dig(dns, "-x", vip).answer[0].endswith("PTR web.default.svc.cluster.local.")
    assert dig(dns, "-x", "10.244.2.11").answer == [
        "11.2.244.10.in-addr.arpa. 30 IN PTR 10-244-2-11.db.default.svc.cluster.local."
    ]


def test_nxdomain_nodata_and_the_soa(dns: DnsProcess) -> None:
    soa = re.compile(
        r"^cluster\.local\. 30 IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. "
        r"\d+ 7200 1800 86400 30$"
    )
    missing = dig(dns, "nope.default.svc.cluster.local")
    assert missing.status == "NXDOMAIN" and missing.answer == []
    assert len(missing.authority) == 1 and soa.match(missing.authority[0])
    nodata = dig(dns, "web.default.svc.cluster.local", "AAAA")
    assert nodata.status == "NOERROR" and nodata.answer == []
    assert len(nodata.authority) == 1 and soa.match(nodata.authority[0])
    assert dig(dns, "default.svc.cluster.local").status == "NOERROR"
    assert dig(dns, "nonexistent.svc.cluster.local").status == "NXDOMAIN"
    assert dig(dns, "api.other.svc.cluster.local").answer
    assert dig(dns, "api.default.svc.cluster.local").status == "NXDOMAIN"


def test_dns_version(dns: DnsProcess) -> None:
    assert dig(dns, "dns-version.cluster.local", "TXT").answer == [
        'dns-version.cluster.local. 28800 IN TXT "1.1.0"'
    ]


def test_external_name_is_a_cname_resolved_upstream(dns: DnsProcess) -> None:
    answer = dig(dns, "ext.default.svc.cluster.local")
    assert answer.answer == [
        "ext.default.svc.cluster.local. 30 IN CNAME www.upstream.test.",
        "www.upstream.test. 120 IN A 192.0.2.10",
    ]


def test_other_names_are_forwarded(dns: DnsProcess, upstream: Upstream) -> None:
    answer = dig(dns, "www.upstream.test")
    assert answer.status == "NOERROR" and "aa" not in answer.flags
    assert answer.answer == ["www.upstream.test. 120 IN A 192.0.2.10"]
    assert dig(dns, "nothing.example").status == "NXDOMAIN"
    before = upstream.tcp_queries
    big = dig(dns, "big.upstream.test", "A", "+noedns")  # TC over UDP; dig retries on TCP
    assert len(big.answer) == 100 and big.server == "TCP"
    assert upstream.tcp_queries > before  # our forwarder, too, went to TCP on TC


def test_changes_are_followed(dns: DnsProcess, kubectl: Kubectl) -> None:
    patch = '[{"op": "replace", "path": "/endpoints/1/conditions/ready", "value": false}]'
    kubectl("patch", "endpointslice", "db-abcde", "--type=json", "-p", patch)
    eventually(lambda: len(dig(dns, "db.default.svc.cluster.local").answer) == 1)
    kubectl("create", "service", "clusterip", "late", "--tcp=80:80")
    eventually(lambda: dig(dns, "late.default.svc.cluster.local").status == "NOERROR")
    kubectl("delete", "service", "late")
    eventually(lambda: dig(dns, "late.default.svc.cluster.local").status == "NXDOMAIN")


def test_malformed_packets_do_no_harm(dns: DnsProcess) -> None:
    header = struct.pack("!6H", 0xBEEF, 0x0100, 2, 0, 0, 0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        for garbage in (b"\x01", os.urandom(7), b"\xff" * 40, header + b"\x03abc"):
            sock.sendto(garbage, ("127.0.0.1", dns.port))
        sock.sendto(header + b"\x00\x00\x01\x00\x01", ("127.0.0.1", dns.port))
        replies = []
        while True:
            try:
                replies.append(sock.recv(65535))
            except TimeoutError:
                break
            if len(replies) == 2:
                break
    assert replies and all(r[:2] == b"\xbe\xef" and r[3] & 0x0F == 1 for r in replies)  # FORMERR
    with socket.create_connection(("127.0.0.1", dns.port), timeout=5) as conn:
        conn.sendall(b"\x00\x03abc" + b"\x00\x05" + os.urandom(5))  # nonsense, framed
        query = bytes(DNSRecord.question("web.default.svc.cluster.local").pack())
        conn.sendall(struct.pack("!H", len(query)) + query + struct.pack("!H", len(query)) + query)
        for _ in range(2):
            (length,) = struct.unpack("!H", conn.recv(2, socket.MSG_WAITALL))
            reply = DNSRecord.parse(conn.recv(length, socket.MSG_WAITALL))
            assert reply.header.id == DNSRecord.parse(query).header.id and reply.rr
    assert dns.proc.poll() is None
    assert dig(dns, "web.default.svc.cluster.local").status == "NOERROR"


def test_health_ready_and_metrics(dns: DnsProcess) -> None:
    dig(dns, "web.default.svc.cluster.local", "A", "+tcp")
    dig(dns, "nope.default.svc.cluster.local")
    assert dns.http(dns.health, "/health") == (200, "OK")
    assert dns.http(dns.ready, "/ready") == (200, "OK")
    status, text = dns.http(dns.metrics, "/metrics")
    assert status == 200
    server = re.escape(f'server="dns://127.0.0.1:{dns.port}",zone="."')
    assert re.search(
        rf'coredns_dns_requests_total\{{{server},proto="udp",family="1",type="A"\}} \d+', text
    )
    assert re.search(
        rf'coredns_dns_requests_total\{{{server},proto="tcp",family="1",type="A"\}} \d+', text
    )
    assert re.search(
        rf'coredns_dns_responses_total\{{{server},rcode="NXDOMAIN",plugin="\w+"\}} \d+', text
    )
    assert re.search(
        rf'coredns_dns_request_duration_seconds_bucket\{{{server},type="A",le="\+Inf"\}} \d+', text
    )
    assert "coredns_cache_misses_total" in text


def test_servfail_and_not_ready_until_synced(upstream: Upstream, tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there: the informers never sync
    server = start_dns(["--server", f"http://127.0.0.1:{closed}"], upstream, tmp_path / "dns.log")
    try:
        assert server.http(server.ready, "/ready")[0] == 503
        assert server.http(server.health, "/health")[0] == 200
        assert dig(server, "web.default.svc.cluster.local").status == "SERVFAIL"
        assert dig(server, "www.upstream.test").status == "NOERROR"  # forwarding needs no sync
    finally:
        server.stop()


def test_bad_flags_are_reported_without_a_traceback() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubesvc.cli.main",
            "dns",
            "--server",
            "http://x",
            "--upstream",
            "nope",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    assert result.returncode == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE")}
    result = subprocess.run(
        [sys.executable, "-m", "kubesvc.cli.main", "dns", "--listen", "127.0.0.1:1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=30,
    )
    assert result.returncode == 1 and "KUBERNETES_SERVICE_HOST" in result.stderr


def test_a_forwarding_loop_is_detected(apiserver: ApiServer, tmp_path: Path) -> None:
    """An upstream that sends every query back to us: SERVFAIL, not an endless loop."""
    target = free_udp_and_tcp_port()

    class Relay(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data, sock = self.request
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
                out.settimeout(3)
                out.sendto(data, ("127.0.0.1", target))
                with contextlib.suppress(TimeoutError):
                    sock.sendto(out.recv(65535), self.client_address)

    relay = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Relay)
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    looping = Upstream(port=relay.server_address[1])
    where = ["--kubeconfig", str(apiserver.kubeconfig)]
    server = start_dns(where, looping, tmp_path / "dns.log", port=target)
    try:
        eventually(lambda: "forwarding loop" in server.log_path.read_text(), timeout=20)
        assert dig(server, "www.example.test").status == "SERVFAIL"
        assert dig(server, "kubernetes.default.svc.cluster.local").status == "NOERROR"
    finally:
        server.stop()
        relay.shutdown()
        relay.server_close()


def test_tcp_idle_timeout_and_the_forwarding_limit_in_process() -> None:
    """The server's own limits: idle TCP connections close; past `max_forwards`, SERVFAIL."""
    from kubesvc.dns.forwarder import Forwarder
    from kubesvc.dns.handler import Handler
    from kubesvc.dns.metrics import Metrics
    from kubesvc.dns.records import Config
    from kubesvc.dns.server import DnsServer, ServerOptions
    from kubesvc.dns.view import View

    async def scenario() -> None:
        options = ServerOptions(
            host="127.0.0.1",
            port=free_udp_and_tcp_port(),
            health_port=0,
            ready_port=0,
            metrics_port=0,
            tcp_idle_timeout=0.2,
            max_forwards=0,
        )
        handler = Handler(View(), Config())
        server = DnsServer(handler, Forwarder([]), Metrics("dns://test"), options, lambda: True)
        await server.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            question = bytes(DNSRecord.question("www.example.test").pack())
            writer.write(struct.pack("!H", len(question)) + question)
            (length,) = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), 5))
            reply = DNSRecord.parse(await reader.readexactly(length))
            assert reply.header.rcode == 2  # no room to forward: SERVFAIL at once
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed when idle
            writer.close()
        finally:
            await server.close()

    asyncio.run(scenario())


def test_kubeadm_coredns_arguments_are_accepted() -> None:
    from kubesvc.cli.main import build_parser

    args = build_parser().parse_args(["dns", "-conf", "/etc/coredns/Corefile"])
    assert (args.corefile, args.listen, args.zone, args.ttl) == (
        "/etc/coredns/Corefile",
        "0.0.0.0:53",
        "cluster.local",
        30,
    )
