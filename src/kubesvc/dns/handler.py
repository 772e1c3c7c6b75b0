"""The DNS protocol, sans-I/O: a query's bytes in, a reply's bytes (or "ask upstream") out.

`Handler.handle(data, tcp=...)` returns a `Reply`, None (drop: too short for a header, or not a
query), or an `Upstream` decision: the server sends `Upstream.query` to a resolver and hands
the answer (or None when no resolver answered) to `Handler.resume`, which returns the `Reply`.

A query first meets the answer cache (`cache.py`): on a hit only the ID is patched. Otherwise:
- a response (QR=1) is dropped; an opcode other than QUERY gets NOTIMP; bytes dnslib cannot
  parse, a question count other than one, or a misplaced/duplicated OPT get FORMERR (header
  only); an EDNS version other than 0 gets BADVERS;
- names in the cluster zone, and PTR names of known cluster IPs, are answered from `records`
  (SERVFAIL until the informers have synced): AA=1 and RA=0 as CoreDNS sets them, RD and CD copied,
  AD cleared; an ExternalName CNAME whose target lies outside the zone becomes an `Upstream`
  for the target, whose answer records are appended after the CNAME;
- everything else is forwarded as it came (the forwarder gives it a fresh ID), unless the
  server's loop probe (a random name it asked upstream once) came back to it: then the
  upstreams forward to us, and every forwarded name gets SERVFAIL instead of looping.

Replies carry an OPT record when the query did (its UDP size reflected, DO copied, the client
cookie echoed). Over UDP a reply
larger than the client's limit (512 bytes without EDNS, else its size, at most 4096) first
loses its additional records, then keeps as many answers as fit and sets TC, so the client
retries over TCP. Answers are stored in the cache unless the query carried EDNS options.
"""

from __future__ import annotations

import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from dnslib import (
    AAAA,
    CNAME,
    EDNS0,
    NS,
    PTR,
    QTYPE,
    RR,
    SOA,
    SRV,
    TXT,
    A,
    DNSHeader,
    DNSQuestion,
    DNSRecord,
    EDNSOption,
)

from kubesvc.dns import records
from kubesvc.dns.cache import Cache, Entry, Key, aged, question_end, ttl_offsets
from kubesvc.dns.records import Answer, Config, Record
from kubesvc.dns.view import View

QR, OPCODE, TC, RD, CD = 0x8000, 0x7800, 0x0200, 0x0100, 0x0010
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, BADVERS = 0, 1, 2, 3, 4, 5, 16
RCODES = {"NOERROR": NOERROR, "NXDOMAIN": NXDOMAIN}
TYPE_OPT = 41
ZONE_TRANSFERS = {251, 252}  # IXFR, AXFR
COOKIE = 10  # the EDNS0 option code; the client's cookie is echoed, with no server cookie
MAX_UDP_SIZE = 4096
_SAFE_LABEL = re.compile(rb"[A-Za-z0-9_\-*]{1,63}")


class Reply(NamedTuple):
    """An answer to send (a named tuple: built once per query, it must be cheap)."""

    data: bytes
    rcode: int
    qtype: str  # "" when the query had no usable question
    plugin: str  # who answered: kubernetes, forward, cache, or "" (protocol errors)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """What a reply needs to know about its query."""

    id: int
    flags: int  # the query's RD and CD bits
    question: DNSQuestion
    qname: str
    qtype: str
    edns: tuple[int, bool, bytes] | None  # (UDP size, DO, client cookie) when it had an OPT
    tcp: bool
    key: Key | None  # where to cache the reply; None: do not
    data: bytes  # the query as received

    @property
    def max_size(self) -> int:
        if self.tcp:
            return 65535
        if self.edns is None:
            return 512
        return max(512, min(self.edns[0], MAX_UDP_SIZE))


def _client_cookie(opt: RR) -> bytes:
    """The client part (8 bytes) of a COOKIE option in the query's OPT record, else b""."""
    for option in opt.rdata or []:
        if getattr(option, "code", None) == COOKIE and len(option.data) >= 8:
            return bytes(option.data[:8])
    return b""


@dataclass(frozen=True, slots=True)
class Upstream:
    """Ask a resolver `query`, then call `Handler.resume` with its answer."""

    query: bytes
    request: Request
    cname: Answer | None = None  # the in-zone answer waiting for its CNAME target's records
    generation: int = 0  # the view's generation that `cname` was read from


def _rdata(record: Record) -> object:
    kind, data = record.type, record.data
    if kind == "A":
        return A(data)
    if kind == "AAAA":
        return AAAA(data)
    if kind == "CNAME":
        return CNAME(data)
    if kind == "PTR":
        return PTR(data)
    if kind == "NS":
        return NS(data)
    if kind == "TXT":
        return TXT(data.strip('"'))
    if kind == "SRV":
        priority, weight, port, target = data.split()
        return SRV(int(priority), int(weight), int(port), target)
    if kind == "SOA":
        mname, rname, *times = data.split()
        return SOA(mname, rname, tuple(int(t) for t in times))
    raise ValueError(f"unsupported record type {kind}")


def _header_only(ident: int, flags: int, rcode: int) -> bytes:
    reply_flags = QR | (flags & (OPCODE | RD | CD)) | (rcode & 0xF)
    return struct.pack("!HHHHHH", ident, reply_flags, 0, 0, 0, 0)


class Handler:
    def __init__(
        self,
        view: View,
        config: Config,
        *,
        synced: Callable[[], bool] = lambda: True,
        cache: Cache | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.view, self.config = view, config
        self.synced = synced
        self.cache = cache if cache is not None else Cache()
        self.clock = clock
        self.loop_probe = ""  # a name only this server asks upstream (CoreDNS `loop`)
        self.looped = False  # that name came back: forwarding would loop, so it is off

    def handle(self, data: bytes, *, tcp: bool) -> Reply | Upstream | None:
        if len(data) < 12:
            return None
        if type(data) is not bytes:
            data = bytes(data)
        now = self.clock()
        key = (tcp, data[2:])
        entry = self.cache.get(key, self.view.generation, now)
        if entry is not None:
            stored = aged(entry, now) if entry.ttl_offsets else entry.data
            return Reply(data[:2] + stored[2:], entry.rcode, entry.qtype, "cache")
        return self._handle(data, tcp, key)

    def _handle(self, data: bytes, tcp: bool, key: Key) -> Reply | Upstream | None:
        ident, flags, qdcount, ancount, nscount, _ = struct.unpack_from("!6H", data)
        if flags & QR:
            return None
        if flags & OPCODE:
            return Reply(_header_only(ident, flags, NOTIMP), NOTIMP, "", "")
        try:
            message = DNSRecord.parse(data)
        except Exception:  # dnslib raises many kinds on garbage
            message = None
        if message is None or qdcount != 1 or len(message.questions) != 1:
            return Reply(_header_only(ident, flags, FORMERR), FORMERR, "", "")
        raw_labels = message.q.qname.label
        too_long = sum(len(label) + 1 for label in raw_labels) + 1 > 255
        if too_long or any(len(label) > 63 for label in raw_labels):  # reserved label types
            return Reply(_header_only(ident, flags, FORMERR), FORMERR, "", "")
        opts = [rr for rr in message.ar if rr.rtype == TYPE_OPT]
        misplaced = any(rr.rtype == TYPE_OPT for rr in message.rr + message.auth)
        if misplaced or len(opts) > 1 or (opts and opts[0].rname.label != ()):
            return Reply(_header_only(ident, flags, FORMERR), FORMERR, "", "")
        question = message.q
        qtype = QTYPE.get(question.qtype, f"TYPE{question.qtype}")
        edns = (
            (opts[0].rclass, bool(opts[0].ttl & 0x8000), _client_cookie(opts[0])) if opts else None
        )
        cacheable = not (opts and opts[0].rdata) and ancount == nscount == 0
        labels = [label.lower() for label in question.qname.label]
        request = Request(
            id=ident,
            flags=flags & (RD | CD),
            question=question,
            qname=".".join(label.decode("latin-1") for label in labels) + ".",
            qtype=qtype,
            edns=edns,
            tcp=tcp,
            key=key if cacheable else None,
            data=data,
        )
        if opts and (opts[0].ttl >> 16) & 0xFF:
            return Reply(self._encode(request, BADVERS, aa=False), BADVERS, qtype, "")
        if question.qtype == TYPE_OPT:
            return Reply(self._encode(request, FORMERR, aa=False), FORMERR, qtype, "")
        return self._answer(request, labels, question.qclass)

    def _answer(self, request: Request, labels: list[bytes], qclass: int) -> Reply | Upstream:
        zone = self.config.origin.encode().split(b".")[:-1]
        ours = len(labels) >= len(zone) and labels[len(labels) - len(zone) :] == zone
        ptr = request.qtype == "PTR" and records.reverse_ip(request.qname) is not None
        if not ours and not (ptr and qclass in (1, 255)):
            return self._forward(request)
        if ours and (qclass not in (1, 255) or request.question.qtype in ZONE_TRANSFERS):
            return Reply(self._encode(request, REFUSED, aa=False), REFUSED, request.qtype, "")
        if not self.synced():
            return Reply(self._encode(request, SERVFAIL, aa=False), SERVFAIL, request.qtype, "")
        if not all(_SAFE_LABEL.fullmatch(label) for label in labels):
            result: Answer | None = Answer(
                rcode="NXDOMAIN", authority=(records.soa(self.view, self.config),)
            )
        else:
            result = records.answer(self.view, self.config, request.qname, request.qtype)
        if result is None:
            return self._forward(request)
        if result.chase:
            query = bytes(DNSRecord.question(result.chase, request.qtype).pack())
            return Upstream(query, request, cname=result, generation=self.view.generation)
        return self._reply(request, result, self.view.generation)

    def _forward(self, request: Request) -> Reply | Upstream:
        if self.loop_probe and request.qname == self.loop_probe:
            self.looped = True
        if self.looped:
            return self.resume(Upstream(request.data, request), None)
        return Upstream(request.data, request)

    def _reply(self, request: Request, result: Answer, generation: int) -> Reply:
        rcode = RCODES[result.rcode]
        data = self._encode(request, rcode, result)
        if request.key is not None:
            entry = Entry(data=data, rcode=rcode, qtype=request.qtype, generation=generation)
            self.cache.put(request.key, entry)
        return Reply(data, rcode, request.qtype, "kubernetes")

    def resume(self, pending: Upstream, upstream: bytes | None) -> Reply:
        """The reply to a query that needed a resolver; `upstream` None: none answered."""
        request = pending.request
        if pending.cname is not None:
            return self._resume_cname(pending, upstream)
        if upstream is None or not self._matches(request, upstream):
            data = self._encode(request, SERVFAIL, aa=False)
            return Reply(data, SERVFAIL, request.qtype, "forward")
        rcode = upstream[3] & 0xF
        data = struct.pack("!H", request.id) + upstream[2:]
        if len(data) > request.max_size:
            data = self._encode(request, rcode, flags=struct.unpack_from("!H", upstream, 2)[0])
            return Reply(data, rcode, request.qtype, "forward")
        try:
            offsets, ttl = ttl_offsets(upstream)
        except (ValueError, struct.error):
            return Reply(self._encode(request, SERVFAIL, aa=False), SERVFAIL, request.qtype, "")
        if request.key is not None and rcode in (NOERROR, NXDOMAIN) and ttl:
            now = self.clock()
            expires = now + min(ttl, self.cache.max_ttl)
            entry = Entry(
                data=data,
                rcode=rcode,
                qtype=request.qtype,
                expires=expires,
                stored=now,
                ttl_offsets=offsets,
            )
            self.cache.put(request.key, entry)
        return Reply(data, rcode, request.qtype, "forward")

    def _resume_cname(self, pending: Upstream, upstream: bytes | None) -> Reply:
        """The CNAME with the target's records appended; kept while both are valid."""
        request, result = pending.request, pending.cname
        assert result is not None
        extra: tuple[RR, ...] = ()
        if upstream is not None and self._matches(pending, upstream):
            try:
                extra = tuple(DNSRecord.parse(upstream).rr)
                data = self._encode(request, NOERROR, result, extra)
                offsets, ttl = ttl_offsets(data)
            except Exception:  # dnslib on a garbled answer: the CNAME alone, not kept
                extra = ()
        if not extra:
            data = self._encode(request, NOERROR, result)
            return Reply(data, NOERROR, request.qtype, "kubernetes")
        if request.key is not None and ttl:
            now = self.clock()
            entry = Entry(
                data=data,
                rcode=NOERROR,
                qtype=request.qtype,
                generation=pending.generation,
                expires=now + min(ttl, self.cache.max_ttl),
                stored=now,
                ttl_offsets=offsets,
            )
            self.cache.put(request.key, entry)
        return Reply(data, NOERROR, request.qtype, "kubernetes")

    @staticmethod
    def _matches(asked: Request | Upstream, upstream: bytes) -> bool:
        """Is this a response to the same question (an upstream may change the name's case)?"""
        query = asked.query if isinstance(asked, Upstream) else asked.data
        try:
            end, asked_end = question_end(upstream), question_end(query)
        except ValueError:
            return False
        same = upstream[12:end].lower() == query[12:asked_end].lower()
        return same and bool(upstream[2] & 0x80) and upstream[4:6] == b"\0\1"

    def _encode(
        self,
        request: Request,
        rcode: int,
        result: Answer | None = None,
        extra: tuple[RR, ...] = (),
        *,
        aa: bool = True,
        flags: int | None = None,
    ) -> bytes:
        """The reply message; `flags` given: an upstream's reply that did not fit (TC)."""
        if flags is not None:
            header = DNSHeader(id=request.id, bitmap=flags, qr=1, tc=1)
        else:
            header = DNSHeader(
                id=request.id,
                qr=1,
                aa=int(aa),
                rd=int(bool(request.flags & RD)),
                cd=int(bool(request.flags & CD)),
                ra=int(not aa),  # CoreDNS: "qr aa rd" for its own zone, RA on forwarded
                rcode=rcode & 0xF,
            )
        message = DNSRecord(header, q=request.question)
        if result is not None:
            message.rr = [self._rr(r, request) for r in result.answer] + list(extra)
            message.auth = [self._rr(r, request) for r in result.authority]
            message.ar = [self._rr(r, request) for r in result.additional]
        opt = []
        if request.edns is not None:
            do = "do" if request.edns[1] else ""
            cookie = [EDNSOption(COOKIE, request.edns[2])] if request.edns[2] else []
            size = max(512, min(request.edns[0], MAX_UDP_SIZE))  # reflected, as CoreDNS does
            opt = [EDNS0(udp_len=size, ext_rcode=rcode >> 4, flags=do, opts=cookie)]
        message.ar += opt
        data = bytes(message.pack())
        if len(data) <= request.max_size:
            return data
        return self._truncate(message, opt, request.max_size)

    @staticmethod
    def _truncate(message: DNSRecord, opt: list[EDNS0], limit: int) -> bytes:
        """Drop the additional records; if still too big keep the answers that fit, set TC."""
        message.ar = list(opt)
        data = bytes(message.pack())
        if len(data) <= limit:
            return data
        answers, low, high = list(message.rr), 0, len(message.rr)
        message.auth = []
        message.header.tc = 1
        while low < high:  # the most answers that fit
            middle = (low + high + 1) // 2
            message.rr = answers[:middle]
            if len(message.pack()) <= limit:
                low = middle
            else:
                high = middle - 1
        message.rr = answers[:low]
        return bytes(message.pack())

    def _rr(self, record: Record, request: Request) -> RR:
        name = request.question.qname if record.name.lower() == request.qname else record.name
        rtype = getattr(QTYPE, record.type)
        return RR(name, rtype, ttl=record.ttl, rdata=_rdata(record))
