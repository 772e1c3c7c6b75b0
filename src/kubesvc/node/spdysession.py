"""A SPDY/3.1 session, sans-I/O: `receive_data(bytes) -> events`, commands queue frames, and
`data_to_send()` hands back the bytes to write, in order.

Either end can use it (`client=True` opens odd stream ids, a server even ones), so tests run a
client and a server against each other in memory. The session keeps, per stream, whether each
side has finished (FIN) and the two flow-control windows of SPDY/3.1, plus the session windows:

- receiving: DATA shrinks the stream's and the session's receive windows; `acknowledge(sid, n)`
  says the application has passed n bytes on, and once half a window has been passed on a
  WINDOW_UPDATE returns that credit to the peer. A peer that overruns a window is tolerated:
  kubectl's spdystream neither sends nor reads WINDOW_UPDATE, so it never waits for credit;
- sending: `send_data` spends the peer's windows. With `enforce_peer_window=True` it sends only
  what the windows allow and returns that count (the caller waits for `WindowUpdated`); the
  default sends everything, since spdystream would never grant more.

Pings from the peer (ids of the other parity) are echoed at once. A session-level violation
raises `spdy.ProtocolError` after queueing a GOAWAY(PROTOCOL_ERROR); stream-level ones (data on
a stream never opened, a repeated SYN_STREAM) answer RST_STREAM and go on.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubesvc.node.spdy import (
    DEFAULT_WINDOW,
    SETTINGS_INITIAL_WINDOW_SIZE,
    Data,
    Frame,
    Framer,
    GoAway,
    GoAwayStatus,
    Headers,
    HeadersFrame,
    Ping,
    ProtocolError,
    RstStatus,
    RstStream,
    Settings,
    SynReply,
    SynStream,
    WindowUpdate,
)

MAX_DATA_FRAME = 32 * 1024
MAX_WINDOW = 0x7FFFFFFF


@dataclass(frozen=True, slots=True)
class StreamOpened:
    stream_id: int
    headers: Headers
    fin: bool = False


@dataclass(frozen=True, slots=True)
class StreamReplied:
    stream_id: int
    headers: Headers
    fin: bool = False


@dataclass(frozen=True, slots=True)
class DataReceived:
    stream_id: int
    data: bytes
    fin: bool = False


@dataclass(frozen=True, slots=True)
class StreamReset:
    stream_id: int
    status: int


@dataclass(frozen=True, slots=True)
class PingReceived:
    ping_id: int  # already echoed


@dataclass(frozen=True, slots=True)
class PingAcknowledged:
    ping_id: int


@dataclass(frozen=True, slots=True)
class GoAwayReceived:
    last_good_stream_id: int
    status: int


@dataclass(frozen=True, slots=True)
class WindowUpdated:
    stream_id: int  # 0: the session
    delta: int


Event = (
    StreamOpened
    | StreamReplied
    | DataReceived
    | StreamReset
    | PingReceived
    | PingAcknowledged
    | GoAwayReceived
    | WindowUpdated
)


class StreamClosed(Exception):
    """The stream was reset or finished both ways (or never opened)."""


@dataclass(slots=True)
class _Stream:
    send_window: int
    recv_window: int
    local_fin: bool = False
    remote_fin: bool = False
    replied: bool = False
    unacknowledged: int = 0


class Connection:
    def __init__(self, *, client: bool, enforce_peer_window: bool = False) -> None:
        self.client = client
        self.enforce_peer_window = enforce_peer_window
        self._framer = Framer()
        self._out: list[bytes] = []
        self._streams: dict[int, _Stream] = {}
        self._next_stream = 1 if client else 2
        self._next_ping = 1 if client else 2
        self._last_peer_stream = 0
        self._initial_send_window = DEFAULT_WINDOW
        self.session_send_window = DEFAULT_WINDOW
        self.session_recv_window = DEFAULT_WINDOW
        self._session_unacknowledged = 0
        self.goaway_sent = False
        self.goaway_received = False
        self.failed: str | None = None

    # ------------------------------------------------------------------ helpers

    def _send(self, frame: Frame) -> None:
        self._out.append(self._framer.encode(frame))

    def _peer_id(self, number: int) -> bool:
        """Ids the peer allocates: odd ones from a client, even ones from a server."""
        return (number % 2 == 1) != self.client

    def _stream(self, stream_id: int) -> _Stream:
        stream = self._streams.get(stream_id)
        if stream is None:
            raise StreamClosed(f"stream {stream_id} is not open")
        return stream

    def _forget_if_done(self, stream_id: int) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None and stream.local_fin and stream.remote_fin:
            del self._streams[stream_id]

    def is_open(self, stream_id: int) -> bool:
        return stream_id in self._streams

    def can_send(self, stream_id: int) -> bool:
        """The stream is open and this side has not sent its FIN yet."""
        stream = self._streams.get(stream_id)
        return stream is not None and not stream.local_fin

    def data_to_send(self) -> bytes:
        out, self._out = b"".join(self._out), []
        return out

    # ------------------------------------------------------------------ commands

    def open_stream(self, headers: Headers, *, fin: bool = False) -> int:
        stream_id = self._next_stream
        self._next_stream += 2
        self._streams[stream_id] = _Stream(self._initial_send_window, DEFAULT_WINDOW, local_fin=fin)
        self._send(SynStream(stream_id=stream_id, headers=headers, fin=fin))
        return stream_id

    def reply(self, stream_id: int, headers: Headers = (), *, fin: bool = False) -> None:
        stream = self._stream(stream_id)
        if stream.replied:
            raise ValueError(f"stream {stream_id} was already replied to")
        stream.replied = True
        stream.local_fin = stream.local_fin or fin
        self._send(SynReply(stream_id, headers, fin))
        self._forget_if_done(stream_id)

    def send_window(self, stream_id: int) -> int:
        return min(self._stream(stream_id).send_window, self.session_send_window)

    def send_data(self, stream_id: int, data: bytes, *, fin: bool = False) -> int:
        """Queue DATA (split into frames of at most 32 KiB); the count of bytes taken. With
        `enforce_peer_window` that may be less than `data`, and FIN waits for the rest."""
        stream = self._stream(stream_id)
        if stream.local_fin:
            raise ValueError(f"stream {stream_id} is already finished on this side")
        size = len(data)
        if self.enforce_peer_window:
            size = max(0, min(size, self.send_window(stream_id)))
        chunks = [data[i : i + MAX_DATA_FRAME] for i in range(0, size, MAX_DATA_FRAME)] or [b""]
        finish = fin and size == len(data)
        if not chunks[0] and not finish:
            return 0
        for index, chunk in enumerate(chunks):
            self._send(Data(stream_id, chunk, finish and index == len(chunks) - 1))
        stream.send_window -= size
        self.session_send_window -= size
        if finish:
            stream.local_fin = True
            self._forget_if_done(stream_id)
        return size

    def reset(self, stream_id: int, status: int = RstStatus.CANCEL) -> None:
        self._streams.pop(stream_id, None)
        self._send(RstStream(stream_id, status))

    def acknowledge(self, stream_id: int, count: int) -> None:
        """The application passed `count` received bytes on: return credit once half a
        window's worth has been passed on."""
        self._session_unacknowledged += count
        if self._session_unacknowledged >= DEFAULT_WINDOW // 2:
            self._send(WindowUpdate(0, self._session_unacknowledged))
            self.session_recv_window += self._session_unacknowledged
            self._session_unacknowledged = 0
        stream = self._streams.get(stream_id)
        if stream is None or stream.remote_fin:
            return
        stream.unacknowledged += count
        if stream.unacknowledged >= DEFAULT_WINDOW // 2:
            self._send(WindowUpdate(stream_id, stream.unacknowledged))
            stream.recv_window += stream.unacknowledged
            stream.unacknowledged = 0

    def ping(self) -> int:
        ping_id = self._next_ping
        self._next_ping += 2
        self._send(Ping(ping_id))
        return ping_id

    def go_away(self, status: int = GoAwayStatus.OK) -> None:
        if not self.goaway_sent:
            self.goaway_sent = True
            self._send(GoAway(self._last_peer_stream, status))

    # ------------------------------------------------------------------ input

    def receive_data(self, data: bytes) -> list[Event]:
        if self.failed:
            raise ProtocolError(self.failed)
        try:
            frames = self._framer.feed(data)
            events: list[Event] = []
            for frame in frames:
                event = self._on_frame(frame)
                if event is not None:
                    events.append(event)
            return events
        except ProtocolError as exc:
            self.failed = str(exc)
            self.go_away(GoAwayStatus.PROTOCOL_ERROR)
            raise

    def _on_frame(self, frame: Frame) -> Event | None:
        if isinstance(frame, Data):
            return self._on_data(frame)
        if isinstance(frame, SynStream):
            return self._on_syn_stream(frame)
        if isinstance(frame, SynReply):
            stream = self._streams.get(frame.stream_id)
            if stream is None:
                self.reset(frame.stream_id, RstStatus.INVALID_STREAM)
                return None
            if stream.replied:
                self.reset(frame.stream_id, RstStatus.STREAM_IN_USE)
                return StreamReset(frame.stream_id, RstStatus.STREAM_IN_USE)
            stream.replied = True
            stream.remote_fin = stream.remote_fin or frame.fin
            self._forget_if_done(frame.stream_id)
            return StreamReplied(frame.stream_id, frame.headers, frame.fin)
        if isinstance(frame, HeadersFrame):
            if frame.fin and frame.stream_id in self._streams:
                return self._on_data(Data(frame.stream_id, b"", True))
            return None
        if isinstance(frame, RstStream):
            self._streams.pop(frame.stream_id, None)
            return StreamReset(frame.stream_id, frame.status)
        if isinstance(frame, Settings):
            for key, value in frame.values:
                if key == SETTINGS_INITIAL_WINDOW_SIZE:
                    self._set_initial_window(value)
            return None
        if isinstance(frame, Ping):
            if self._peer_id(frame.ping_id):
                self._send(frame)
                return PingReceived(frame.ping_id)
            return PingAcknowledged(frame.ping_id)
        if isinstance(frame, GoAway):
            self.goaway_received = True
            return GoAwayReceived(frame.last_good_stream_id, frame.status)
        return self._on_window_update(frame)

    def _set_initial_window(self, value: int) -> None:
        if value > MAX_WINDOW:
            raise ProtocolError(f"initial window {value} is larger than 2^31-1")
        delta = value - self._initial_send_window
        self._initial_send_window = value
        for stream in self._streams.values():
            stream.send_window += delta

    def _on_syn_stream(self, frame: SynStream) -> Event | None:
        sid = frame.stream_id
        if sid in self._streams:
            self.reset(sid, RstStatus.PROTOCOL_ERROR)
            return StreamReset(sid, RstStatus.PROTOCOL_ERROR)
        if not self._peer_id(sid) or sid <= self._last_peer_stream:
            self._send(RstStream(sid, RstStatus.PROTOCOL_ERROR))
            return None
        self._last_peer_stream = sid
        if self.goaway_sent:
            self._send(RstStream(sid, RstStatus.REFUSED_STREAM))
            return None
        self._streams[sid] = _Stream(
            self._initial_send_window,
            DEFAULT_WINDOW,
            remote_fin=frame.fin or frame.unidirectional,
        )
        return StreamOpened(sid, frame.headers, frame.fin)

    def _on_data(self, frame: Data) -> Event | None:
        stream = self._streams.get(frame.stream_id)
        if stream is None:
            known = frame.stream_id <= (
                self._last_peer_stream if self._peer_id(frame.stream_id) else self._next_stream
            )
            if not known:
                self._send(RstStream(frame.stream_id, RstStatus.INVALID_STREAM))
            return None  # data racing a reset or a close is dropped
        if stream.remote_fin:
            self.reset(frame.stream_id, RstStatus.STREAM_ALREADY_CLOSED)
            return StreamReset(frame.stream_id, RstStatus.STREAM_ALREADY_CLOSED)
        stream.recv_window -= len(frame.data)
        self.session_recv_window -= len(frame.data)
        stream.remote_fin = frame.fin
        self._forget_if_done(frame.stream_id)
        return DataReceived(frame.stream_id, frame.data, frame.fin)

    def _on_window_update(self, frame: WindowUpdate) -> Event | None:
        if frame.stream_id == 0:
            if self.session_send_window + frame.delta > MAX_WINDOW:
                raise ProtocolError("session window grew past 2^31-1")
            self.session_send_window += frame.delta
            return WindowUpdated(0, frame.delta)
        stream = self._streams.get(frame.stream_id)
        if stream is None:
            return None
        if stream.send_window + frame.delta > MAX_WINDOW:
            self.reset(frame.stream_id, RstStatus.FLOW_CONTROL_ERROR)
            return StreamReset(frame.stream_id, RstStatus.FLOW_CONTROL_ERROR)
        stream.send_window += frame.delta
        return WindowUpdated(frame.stream_id, frame.delta)
