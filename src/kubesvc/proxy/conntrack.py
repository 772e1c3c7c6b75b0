"""The conntrack table behind a small protocol: the `conntrack` tool, and a fake for tests.

`Conntrack` lists UDP flows and deletes the flows one `FlowFilter` selects. `ConntrackTool` runs
`conntrack -L -p udp` and `conntrack -D ...` (in this process's network namespace, or a named one);
`conntrack -D` exits 1 with "0 flow entries have been deleted" when nothing matched, which is not
an error (upstream ignores it the same way). `FakeConntrack` holds flows in a list.

`clean_stale(conntrack, services, endpoints)` is the whole clean-up after a sync: list, plan with
`flows.stale_filters`, delete; it returns the filters it applied.
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Mapping, Sequence
from typing import Protocol

from kubesvc.proxy.flows import Flow, FlowFilter, parse_flows, stale_filters
from kubesvc.proxy.model import EndpointInfo, ServicePortInfo

log = logging.getLogger("kubesvc.proxy.conntrack")
_DELETED = re.compile(r"(\d+) flow entries have been deleted")


class ConntrackError(RuntimeError):
    pass


class Conntrack(Protocol):
    def list_udp(self) -> list[Flow]: ...

    def delete(self, selection: FlowFilter) -> int: ...


class ConntrackTool:
    def __init__(self, binary: str = "conntrack", netns: str | None = None) -> None:
        self.binary = binary
        self.prefix = ["ip", "netns", "exec", netns] if netns else []

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [*self.prefix, self.binary, *args], capture_output=True, text=True, check=False
            )
        except FileNotFoundError as exc:
            raise ConntrackError(f"{self.binary} is not installed") from exc

    def list_udp(self) -> list[Flow]:
        result = self._run("-L", "-p", "udp")
        if result.returncode != 0:
            raise ConntrackError(f"conntrack -L failed: {result.stderr.strip()}")
        return parse_flows(result.stdout)

    def delete(self, selection: FlowFilter) -> int:
        result = self._run(*selection.argv())
        found = _DELETED.search(result.stderr)
        if result.returncode != 0 and not (found and found.group(1) == "0"):
            raise ConntrackError(f"conntrack {' '.join(selection.argv())}: {result.stderr.strip()}")
        return int(found.group(1)) if found else 0


class FakeConntrack:
    def __init__(self, flows: Sequence[Flow] = ()) -> None:
        self.flows = list(flows)
        self.deleted: list[FlowFilter] = []

    def list_udp(self) -> list[Flow]:
        return [f for f in self.flows if f.protocol == "udp"]

    def delete(self, selection: FlowFilter) -> int:
        before = len(self.flows)
        self.flows = [f for f in self.flows if not selection.matches(f)]
        self.deleted.append(selection)
        return before - len(self.flows)


def clean_stale(
    conntrack: Conntrack,
    services: Sequence[ServicePortInfo],
    endpoints: Mapping[str, Sequence[EndpointInfo]],
) -> list[FlowFilter]:
    """Delete the UDP flows that point away from their Service's serving endpoints."""
    filters = stale_filters(conntrack.list_udp(), services, endpoints)
    for selection in filters:
        try:
            count = conntrack.delete(selection)
        except ConntrackError as exc:
            log.warning("could not delete stale UDP flows: %s", exc)
            continue
        log.info("deleted %d stale UDP flow(s): conntrack %s", count, " ".join(selection.argv()))
    return filters
