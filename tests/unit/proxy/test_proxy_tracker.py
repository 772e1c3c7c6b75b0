"""Change trackers: previous/current per Service, no-op changes dropped, what a sync checks out."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from proxy_scenarios import HTTP, HTTP_EP, THREE, endpoint_slice, service

from kubesvc.proxy.tracker import (
    TRIGGER_TIME_ANNOTATION,
    ChangeTracker,
    EndpointsChangeTracker,
    ProxyState,
    ServiceChangeTracker,
)

STARTED = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
DNS = [{"name": "dns", "protocol": "UDP", "port": 53}]


def relabelled(obj: dict[str, Any], **labels: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"].setdefault("labels", {}).update(labels)
    out["metadata"]["resourceVersion"] = "99"
    return out


def test_change_tracker_keeps_the_first_previous_and_drops_a_change_that_comes_back() -> None:
    tracker: ChangeTracker[int] = ChangeTracker()
    assert tracker.record("a", 1, 2) is True
    assert tracker.record("a", 2, 3) is True
    assert tracker.checkout()["a"].previous == 1
    assert tracker.record("b", 1, 2) is True
    assert tracker.record("b", 2, 1) is False  # back where the last sync left it
    assert len(tracker) == 0 and tracker.checkout() == {}


def test_service_updates_that_change_nothing_the_rules_use_ask_for_nothing() -> None:
    services = ServiceChangeTracker()
    web = service("web", "10.96.0.10", HTTP)
    assert services.update(None, web) is True
    services.changes.checkout()
    assert services.update(web, relabelled(web, team="blue")) is False
    moved = copy.deepcopy(web)
    moved["spec"]["ports"][0]["port"] = 8080
    assert services.update(web, moved) is True
    change = services.changes.checkout()["default/web"]
    assert [p.port for p in change.previous] == [80] and [p.port for p in change.current] == [8080]
    assert services.update(moved, None) is True
    assert services.changes.checkout()["default/web"].current == ()


def test_endpoints_are_kept_per_service_and_port_from_every_slice() -> None:
    endpoints = EndpointsChangeTracker("node-1", STARTED)
    a = endpoint_slice("web", HTTP_EP, THREE[:1])
    b = endpoint_slice("web", HTTP_EP, THREE[1:]) | {
        "metadata": {**a["metadata"], "name": "web-fghij"}
    }
    assert endpoints.update(None, a) and endpoints.update(None, b)
    ((key, eps),) = endpoints.endpoints("default/web")
    assert key == ("http", "TCP")
    assert [str(e) for e in eps] == ["10.244.1.5:8080", "10.244.2.5:8080", "10.244.3.5:8080"]
    assert [e.is_local for e in eps] == [True, False, False]
    endpoints.checkout()
    assert endpoints.update(a, relabelled(a, extra="x")) is False
    assert endpoints.update(b, None) is True
    changes, _ = endpoints.checkout()
    assert len(dict(changes["default/web"].current)[("http", "TCP")]) == 1


def test_a_slice_moving_to_another_service_changes_both() -> None:
    endpoints = EndpointsChangeTracker("node-1", STARTED)
    a = endpoint_slice("web", HTTP_EP, THREE[:1])
    endpoints.update(None, a)
    endpoints.checkout()
    moved = relabelled(a, **{"kubernetes.io/service-name": "api"})
    assert endpoints.update(a, moved) is True
    changes, _ = endpoints.checkout()
    assert changes["default/web"].current == () and changes["default/api"].previous == ()


def test_trigger_times_count_only_after_start_and_only_for_real_changes() -> None:
    endpoints = EndpointsChangeTracker("node-1", STARTED)
    old = endpoint_slice("web", HTTP_EP, THREE[:1])
    old["metadata"]["annotations"] = {TRIGGER_TIME_ANNOTATION: "2024-01-01T11:00:00Z"}
    endpoints.update(None, old)  # before the tracker started: the initial list
    new = endpoint_slice("web", HTTP_EP, THREE[:2])
    new["metadata"]["annotations"] = {TRIGGER_TIME_ANNOTATION: "2024-01-01T12:00:05Z"}
    endpoints.update(old, new)
    _, times = endpoints.checkout()
    assert times == [datetime(2024, 1, 1, 12, 0, 5, tzinfo=UTC)]
    noop = relabelled(new, x="y")
    noop["metadata"]["annotations"] = {TRIGGER_TIME_ANNOTATION: "2024-01-01T12:00:09Z"}
    assert endpoints.update(new, noop) is False
    assert endpoints.checkout()[1] == []


def test_proxy_state_names_changed_services_and_udp_cleanup() -> None:
    services, endpoints, state = (
        ServiceChangeTracker(),
        EndpointsChangeTracker("n", STARTED),
        ProxyState(),
    )
    web, dns = service("web", "10.96.0.10", HTTP), service("dns", "10.96.0.53", DNS)
    services.update(None, web)
    services.update(None, dns)
    endpoints.update(None, endpoint_slice("web", HTTP_EP, THREE))
    first = state.update(services, endpoints)
    assert first.updated == {"default/web", "default/dns"} and first.conntrack_cleanup is False
    assert [p.key for p in state.ports()] == ["default/dns:dns", "default/web:http"]
    web_eps = state.endpoints_by_port_key()["default/web:http"]
    assert [str(e) for e in web_eps][:1] == ["10.244.1.5:8080"]
    dns_slice = endpoint_slice("dns", DNS, THREE[:1])
    endpoints.update(None, dns_slice)
    second = state.update(services, endpoints)
    assert second.updated == {"default/dns"} and second.conntrack_cleanup is True
    services.update(web, None)
    third = state.update(services, endpoints)
    assert (
        third.updated == {"default/web"} and "default/web:http" not in state.endpoints_by_port_key()
    )
    assert state.update(services, endpoints).updated == frozenset()
