"""What a controller wrote and has not yet seen come back through its informer.

Informer caches lag behind the controller's own writes. Acting on a cache that does not yet show
them would create pods twice or write a slice from an old version, so controllers wait:

- `Expectations` (client-go's ControllerExpectations / UIDTrackingExpectations): before creating
  N pods a controller expects N additions; before deleting pods it expects those keys to go.
  Informer handlers lower the counts; a controller syncs only when its expectations are met or
  have expired (`ttl`, 5 minutes upstream), so a lost event cannot wedge it forever.
- `WriteTracker` (upstream's EndpointSliceTracker and stale-Endpoints tracker): after each
  create/update it records the resourceVersion it got back, after each delete a tombstone, per
  owner; the owner is stale until the informer has delivered that version (or a later one: our
  resourceVersions are store revisions, compared as integers when they are) or the deletion.

Time is passed in (`now`, monotonic seconds), so both are pure bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DELETED = ""


@dataclass
class _Expectation:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)
    since: float = 0.0


class Expectations:
    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._items: dict[str, _Expectation] = {}

    def expect_creations(self, key: str, count: int, now: float) -> None:
        item = self._items.setdefault(key, _Expectation(since=now))
        item.adds += count
        item.since = now

    def creation_observed(self, key: str) -> None:
        item = self._items.get(key)
        if item is not None and item.adds > 0:
            item.adds -= 1

    def expect_deletions(self, key: str, pod_keys: list[str], now: float) -> None:
        item = self._items.setdefault(key, _Expectation(since=now))
        item.deletes.update(pod_keys)
        item.since = now

    def deletion_observed(self, key: str, pod_key: str) -> None:
        item = self._items.get(key)
        if item is not None:
            item.deletes.discard(pod_key)

    def satisfied(self, key: str, now: float) -> bool:
        item = self._items.get(key)
        if item is None or (item.adds <= 0 and not item.deletes):
            return True
        return now - item.since > self.ttl

    def pending(self, key: str) -> tuple[int, int]:
        item = self._items.get(key)
        return (item.adds, len(item.deletes)) if item else (0, 0)

    def delete(self, key: str) -> None:
        self._items.pop(key, None)


def _caught_up(seen: str, wanted: str) -> bool:
    if seen == wanted:
        return True
    if seen.isdigit() and wanted.isdigit():
        return int(seen) >= int(wanted)
    return False


class WriteTracker:
    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        # owner -> object key -> (resourceVersion written or DELETED, when)
        self._owners: dict[str, dict[str, tuple[str, float]]] = {}

    def wrote(
        self, owner: str, key: str, resource_version: str, now: float, cached: str | None = None
    ) -> None:
        """A write returned `resource_version`; `cached` is what the cache holds right now
        (the informer may have delivered the write before the call returned)."""
        if cached is not None and _caught_up(cached, resource_version):
            return
        self._owners.setdefault(owner, {})[key] = (resource_version, now)

    def deleted(self, owner: str, key: str, now: float, cached: bool = True) -> None:
        """A delete succeeded; `cached` is whether the cache still holds the object."""
        if cached:
            self._owners.setdefault(owner, {})[key] = (DELETED, now)

    def observe(self, key: str, resource_version: str | None) -> None:
        """An informer event: the object at `key` now has this version (None: deleted)."""
        for owner, writes in list(self._owners.items()):
            wanted = writes.get(key)
            if wanted is None:
                continue
            if resource_version is None or (
                wanted[0] != DELETED and _caught_up(resource_version, wanted[0])
            ):
                del writes[key]
            if not writes:
                del self._owners[owner]

    def stale(self, owner: str, now: float) -> bool:
        writes = self._owners.get(owner)
        if not writes:
            return False
        for key, (_, when) in list(writes.items()):
            if now - when > self.ttl:
                del writes[key]
        return bool(writes)

    def forget(self, owner: str) -> None:
        self._owners.pop(owner, None)
