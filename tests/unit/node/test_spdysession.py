"""A SPDY/3.1 client and server session talking through memory: streams, FIN, resets, pings,
flow-control windows, and what a broken peer gets."""

from __future__ import annotations

import pytest

from kubesvc.node import spdy
from kubesvc.node.spdy import DEFAULT_WINDOW, Framer, ProtocolError, RstStatus, WindowUpdate
from kubesvc.node.spdysession import (
    Connection,
    DataReceived,
    Event,
    GoAwayReceived,
    PingAcknowledged,
    PingReceived,
    StreamClosed,
    StreamOpened,
    StreamReplied,
    StreamReset,
    WindowUpdated,
)

ERROR = (("streamtype", "error"), ("port", "80"), ("requestid", "0"))
DATA = (("streamtype", "data"), ("port", "80"), ("requestid", "0"))


def pipe(sender: Connection, receiver: Connection) -> list[Event]:
    return receiver.receive_data(sender.data_to_send())


def test_port_forward_pair_as_kubectl_drives_it() -> None:
    client, server = Connection(client=True), Connection(client=False)
    err = client.open_stream(ERROR)
    assert pipe(client, server) == [StreamOpened(1, ERROR)]
    server.reply(err)
    assert pipe(server, client) == [StreamReplied(1, ())]
    client.send_data(err, b"", fin=True)  # kubectl never writes to the error stream
    data = client.open_stream(DATA)
    client.send_data(data, b"GET / HTTP/1.0\r\n\r\n")
    assert pipe(client, server) == [
        DataReceived(1, b"", fin=True),
        StreamOpened(3, DATA),
        DataReceived(3, b"GET / HTTP/1.0\r\n\r\n"),
    ]
    server.reply(data)
    server.send_data(data, b"HTTP/1.0 200 OK\r\n\r\nbody", fin=True)
    server.send_data(err, b"", fin=True)
    assert pipe(server, client) == [
        StreamReplied(3, ()),
        DataReceived(3, b"HTTP/1.0 200 OK\r\n\r\nbody", fin=True),
        DataReceived(1, b"", fin=True),
    ]
    assert not server.is_open(err) and server.is_open(data)  # data: the client has not finished
    client.reset(data)
    assert pipe(client, server) == [StreamReset(3, RstStatus.CANCEL)]
    assert not server.is_open(data)
    with pytest.raises(StreamClosed):
        server.send_data(data, b"late")


def test_stream_ids_and_parity() -> None:
    client, server = Connection(client=True), Connection(client=False)
    assert [client.open_stream(()) for _ in range(3)] == [1, 3, 5]
    assert [server.open_stream(()) for _ in range(2)] == [2, 4]


def test_pings_are_echoed_and_matched() -> None:
    client, server = Connection(client=True), Connection(client=False)
    ping = client.ping()
    assert ping == 1
    assert pipe(client, server) == [PingReceived(1)]
    assert pipe(server, client) == [PingAcknowledged(1)]  # the echo, unchanged
    server.ping()
    assert pipe(server, client) == [PingReceived(2)]


def test_goaway_refuses_later_streams() -> None:
    client, server = Connection(client=True), Connection(client=False)
    client.open_stream(DATA)
    pipe(client, server)
    server.go_away()
    assert pipe(server, client) == [GoAwayReceived(1, 0)]
    client.open_stream(DATA)
    assert pipe(client, server) == []
    assert pipe(server, client) == [StreamReset(3, RstStatus.REFUSED_STREAM)]


def test_stream_errors_reset_and_go_on() -> None:
    client, server = Connection(client=True), Connection(client=False)
    raw = Framer()
    # DATA on a stream never opened → RST_STREAM INVALID_STREAM
    assert server.receive_data(raw.encode(spdy.Data(9, b"x"))) == []
    assert pipe(server, client) == [StreamReset(9, RstStatus.INVALID_STREAM)]
    # a SYN_STREAM with a client id that is not increasing, or a server's id → PROTOCOL_ERROR
    server.receive_data(raw.encode(spdy.SynStream(stream_id=11, headers=())))
    server.receive_data(raw.encode(spdy.SynStream(stream_id=7, headers=())))
    server.receive_data(raw.encode(spdy.SynStream(stream_id=14, headers=())))
    frames = Framer().feed(server.data_to_send())
    assert [(f.stream_id, f.status) for f in frames if isinstance(f, spdy.RstStream)] == [
        (7, RstStatus.PROTOCOL_ERROR),
        (14, RstStatus.PROTOCOL_ERROR),
    ]
    # DATA after the peer's FIN → STREAM_ALREADY_CLOSED
    events = server.receive_data(raw.encode(spdy.Data(11, b"", fin=True)))
    assert events == [DataReceived(11, b"", fin=True)]
    assert server.receive_data(raw.encode(spdy.Data(11, b"more"))) == [
        StreamReset(11, RstStatus.STREAM_ALREADY_CLOSED)
    ]
    # data racing a reset of an old stream is dropped quietly
    assert server.receive_data(raw.encode(spdy.Data(11, b"late"))) == []
    assert server.data_to_send()[-8:] == b"\x00\x00\x00\x0b\x00\x00\x00\x09"


def test_a_broken_peer_gets_goaway_and_an_error() -> None:
    server = Connection(client=False)
    with pytest.raises(ProtocolError, match="unsupported SPDY version 2"):
        server.receive_data(b"\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01")
    goaway = Framer().feed(server.data_to_send())
    assert goaway == [spdy.GoAway(0, spdy.GoAwayStatus.PROTOCOL_ERROR)]
    with pytest.raises(ProtocolError):
        server.receive_data(b"")


def test_receive_window_credit_follows_what_was_passed_on() -> None:
    client, server = Connection(client=True), Connection(client=False)
    sid = client.open_stream(DATA)
    pipe(client, server)
    server.reply(sid)
    pipe(server, client)
    client.send_data(sid, b"x" * 40000)
    pipe(client, server)
    assert server.session_recv_window == DEFAULT_WINDOW - 40000
    server.acknowledge(sid, 20000)  # under half a window: no update yet
    assert server.data_to_send() == b""
    server.acknowledge(sid, 20000)
    updates = Framer().feed(server.data_to_send())
    assert updates == [WindowUpdate(0, 40000), WindowUpdate(sid, 40000)]
    assert server.session_recv_window == DEFAULT_WINDOW


def test_enforced_send_window_waits_for_credit() -> None:
    client = Connection(client=True)
    server = Connection(client=False, enforce_peer_window=True)
    sid = client.open_stream(DATA)
    pipe(client, server)
    server.reply(sid)
    body = bytes(range(256)) * 400  # 102400 bytes
    taken = server.send_data(sid, body, fin=True)
    assert taken == DEFAULT_WINDOW and server.send_window(sid) == 0
    events = pipe(server, client)
    received = b"".join(e.data for e in events if isinstance(e, DataReceived))
    assert received == body[:DEFAULT_WINDOW]
    assert not any(isinstance(e, DataReceived) and e.fin for e in events)
    assert server.send_data(sid, body[taken:], fin=True) == 0
    client.acknowledge(sid, len(received))
    assert pipe(client, server) == [WindowUpdated(0, DEFAULT_WINDOW), WindowUpdated(sid, 65536)]
    assert server.send_data(sid, body[taken:], fin=True) == len(body) - taken
    events = pipe(server, client)
    assert b"".join(e.data for e in events if isinstance(e, DataReceived)) == body[taken:]
    assert isinstance(events[-1], DataReceived) and events[-1].fin


def test_settings_change_the_initial_window_of_open_streams() -> None:
    server = Connection(client=False, enforce_peer_window=True)
    raw = Framer()
    server.receive_data(raw.encode(spdy.SynStream(stream_id=1, headers=DATA)))
    server.reply(1)
    big = spdy.Settings(((spdy.SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20),))
    server.receive_data(raw.encode(big))
    assert server.send_window(1) == DEFAULT_WINDOW  # the session window still caps it
    server.receive_data(raw.encode(WindowUpdate(0, 1 << 19)))
    assert server.send_window(1) == DEFAULT_WINDOW + (1 << 19)


def test_unenforced_send_goes_past_the_window() -> None:
    # kubectl's spdystream never grants credit, so the agent sends regardless of windows
    server = Connection(client=False)
    server.receive_data(Framer().encode(spdy.SynStream(stream_id=1, headers=DATA)))
    server.reply(1)
    assert server.send_data(1, b"y" * 200000) == 200000
    assert server.send_window(1) == DEFAULT_WINDOW - 200000
    frames = Framer().feed(server.data_to_send())
    assert [len(f.data) for f in frames if isinstance(f, spdy.Data)] == [32768] * 6 + [3392]


def test_window_overflow_resets_the_stream() -> None:
    server = Connection(client=False)
    raw = Framer()
    server.receive_data(raw.encode(spdy.SynStream(stream_id=1, headers=DATA)))
    events = server.receive_data(raw.encode(WindowUpdate(1, 0x7FFFFFFF)))
    assert events == [StreamReset(1, RstStatus.FLOW_CONTROL_ERROR)]
