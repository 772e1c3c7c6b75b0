"""Round robin with ClientIP session affinity: how kube-proxy's userspace mode picks a backend.

Pure. One `LoadBalancer` holds, per Service port (its `namespace/name:port` key), the endpoint
list (`"ip:port"` strings), a round-robin index and, when the Service has
`sessionAffinity: ClientIP`, a table client IP → (endpoint, last used). This is the behaviour of
the old `pkg/proxy/userspace` round-robin balancer:

- `next_endpoint(key, client_ip)`: with affinity, a client whose record is younger than the
  timeout (whole seconds since last use < `timeoutSeconds`) gets the same endpoint again and the
  record is refreshed; otherwise the endpoint at the index is taken, the index moves on, and
  the choice is recorded for that client. The connect retry passes the endpoints it already
  failed on as `tried`: the lookup is skipped (as kube-proxy's `sessionAffinityReset`), the
  rotation skips those endpoints while others remain (kube-proxy did not, so under concurrent
  connections a retry could land on the same dead endpoint again), and the new choice replaces
  the record.
- `set_endpoints(key, endpoints)`: a changed set replaces the list (shuffled, so that every node
  does not start on the same pod), resets the index to 0 and forgets the affinity records of
  endpoints that went away; records of endpoints that remain are kept. The same set in another
  order changes nothing.
- `cleanup_stale_sessions()` drops records older than the timeout (the proxier calls it on every
  sync). Time comes from the injected `clock` (seconds, monotonic), never from the system.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

DEFAULT_AFFINITY_TIMEOUT = 10800


class NoEndpointsError(LookupError):
    """The Service port is unknown or has no endpoints: the connection cannot be proxied."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Affinity:
    """Which endpoint one client IP was sent to, and when that was last used."""

    endpoint: str
    last_used: float


@dataclass(slots=True, kw_only=True)
class _State:
    endpoints: list[str] = field(default_factory=list)
    index: int = 0
    affinity_timeout: int | None = None  # None: sessionAffinity None
    sessions: dict[str, Affinity] = field(default_factory=dict)


class LoadBalancer:
    """Per Service port round robin with optional ClientIP affinity (see the module docstring)."""

    def __init__(
        self,
        clock: Callable[[], float],
        shuffle: Callable[[list[str]], None] | None = None,
    ) -> None:
        self._clock = clock
        self._shuffle = shuffle if shuffle is not None else random.shuffle
        self._services: dict[str, _State] = {}

    def services(self) -> list[str]:
        return sorted(self._services)

    def set_service(self, key: str, affinity_timeout: int | None) -> None:
        """Create the Service port (or change its affinity); `None` means no affinity, 0 the
        default of 10800 s. Turning affinity off forgets every record."""
        state = self._services.setdefault(key, _State())
        if affinity_timeout is not None and affinity_timeout <= 0:
            affinity_timeout = DEFAULT_AFFINITY_TIMEOUT
        if affinity_timeout is None:
            state.sessions.clear()
        state.affinity_timeout = affinity_timeout

    def delete_service(self, key: str) -> None:
        self._services.pop(key, None)

    def set_endpoints(self, key: str, endpoints: Sequence[str]) -> None:
        """The Service port's endpoints now; a no-op when the set did not change."""
        state = self._services.setdefault(key, _State())
        if sorted(state.endpoints) == sorted(endpoints):
            return
        kept = set(endpoints)
        state.sessions = {ip: a for ip, a in state.sessions.items() if a.endpoint in kept}
        state.endpoints = list(endpoints)
        self._shuffle(state.endpoints)
        state.index = 0

    def endpoints(self, key: str) -> list[str]:
        state = self._services.get(key)
        return list(state.endpoints) if state else []

    def has_endpoints(self, key: str) -> bool:
        state = self._services.get(key)
        return state is not None and bool(state.endpoints)

    def session(self, key: str, client_ip: str) -> Affinity | None:
        state = self._services.get(key)
        return state.sessions.get(client_ip) if state else None

    def next_endpoint(self, key: str, client_ip: str, tried: Collection[str] = frozenset()) -> str:
        """The endpoint for a new connection from `client_ip` that already failed on `tried`;
        raises `NoEndpointsError`."""
        state = self._services.get(key)
        if state is None or not state.endpoints:
            raise NoEndpointsError(f"no endpoints for {key}")
        now = self._clock()
        timeout = state.affinity_timeout
        if timeout is not None and not tried:
            found = state.sessions.get(client_ip)
            if found is not None and int(now - found.last_used) < timeout:
                state.sessions[client_ip] = Affinity(endpoint=found.endpoint, last_used=now)
                return found.endpoint
        count, skip = len(state.endpoints), 0
        if tried:
            ahead = (state.endpoints[(state.index + i) % count] for i in range(count))
            skip = next((i for i, ep in enumerate(ahead) if ep not in tried), 0)
        endpoint = state.endpoints[(state.index + skip) % count]
        state.index = (state.index + skip + 1) % count
        if timeout is not None:
            state.sessions[client_ip] = Affinity(endpoint=endpoint, last_used=now)
        return endpoint

    def cleanup_stale_sessions(self) -> None:
        now = self._clock()
        for state in self._services.values():
            timeout = state.affinity_timeout
            if timeout is None:
                continue
            state.sessions = {
                ip: a for ip, a in state.sessions.items() if int(now - a.last_used) < timeout
            }
