"""The userspace round-robin balancer: rotation, ClientIP affinity and its timeout, endpoint
changes, and the retry's "next endpoint" — with a fake clock and no shuffling."""

from __future__ import annotations

import pytest

from kubesvc.proxy.userspace.balancer import (
    DEFAULT_AFFINITY_TIMEOUT,
    LoadBalancer,
    NoEndpointsError,
)

KEY = "default/myapp:http"
EPS = ["10.244.1.5:80", "10.244.2.5:80", "10.244.3.5:80"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def balancer(affinity: int | None = None, endpoints: list[str] = EPS) -> tuple[LoadBalancer, Clock]:
    clock = Clock()
    lb = LoadBalancer(clock, shuffle=lambda items: None)
    lb.set_service(KEY, affinity)
    lb.set_endpoints(KEY, endpoints)
    return lb, clock


def picks(lb: LoadBalancer, clients: list[str]) -> list[str]:
    return [lb.next_endpoint(KEY, ip) for ip in clients]


def test_round_robin_over_the_endpoints_whoever_the_client() -> None:
    lb, _ = balancer()
    assert picks(lb, ["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1"]) == [
        EPS[0],
        EPS[1],
        EPS[2],
        EPS[0],
        EPS[1],
    ]
    assert lb.session(KEY, "10.0.0.1") is None  # no affinity: nothing recorded


@pytest.mark.parametrize(
    ("clients", "expected"),
    [
        (["a", "a", "a"], [0, 0, 0]),
        (["a", "b", "a", "b"], [0, 1, 0, 1]),
        (["a", "b", "c", "d", "a", "d"], [0, 1, 2, 0, 0, 0]),
    ],
)
def test_client_ip_affinity_sticks_within_the_timeout(
    clients: list[str], expected: list[int]
) -> None:
    lb, _ = balancer(affinity=60)
    assert picks(lb, clients) == [EPS[i] for i in expected]


@pytest.mark.parametrize(
    ("idle", "same"),
    [(0, True), (59.9, True), (60, False), (61, False)],
)
def test_affinity_expires_after_timeout_seconds_idle(idle: float, same: bool) -> None:
    lb, clock = balancer(affinity=60)
    first = lb.next_endpoint(KEY, "a")
    clock.now += idle
    assert (lb.next_endpoint(KEY, "a") == first) is same


def test_each_use_refreshes_the_affinity_record() -> None:
    lb, clock = balancer(affinity=60)
    first = lb.next_endpoint(KEY, "a")
    for _ in range(5):  # 5 x 50 s, each within the timeout of the previous use
        clock.now += 50
        assert lb.next_endpoint(KEY, "a") == first
    session = lb.session(KEY, "a")
    assert session is not None and session.last_used == clock.now


@pytest.mark.parametrize("timeout", [0, -1])
def test_affinity_timeout_defaults_to_10800(timeout: int) -> None:
    lb, clock = balancer(affinity=timeout)
    first = lb.next_endpoint(KEY, "a")
    clock.now += DEFAULT_AFFINITY_TIMEOUT - 1
    assert lb.next_endpoint(KEY, "a") == first
    clock.now += DEFAULT_AFFINITY_TIMEOUT
    assert lb.next_endpoint(KEY, "a") != first


def test_cleanup_drops_only_expired_records() -> None:
    lb, clock = balancer(affinity=60)
    lb.next_endpoint(KEY, "old")
    clock.now += 30
    lb.next_endpoint(KEY, "young")
    clock.now += 40  # old: 70 s, young: 40 s
    lb.cleanup_stale_sessions()
    assert lb.session(KEY, "old") is None
    assert lb.session(KEY, "young") is not None


def test_retry_takes_the_next_endpoint_and_moves_the_affinity() -> None:
    lb, _ = balancer(affinity=60)
    first = lb.next_endpoint(KEY, "a")
    retried = lb.next_endpoint(KEY, "a", {first})
    assert (first, retried) == (EPS[0], EPS[1])
    assert lb.next_endpoint(KEY, "a") == EPS[1]  # the client now sticks to the one that answered


@pytest.mark.parametrize(
    ("others", "tried", "expected", "then"),
    [
        # nobody else moved the rotation: the retry gets the next one
        (0, {EPS[0]}, EPS[1], EPS[2]),
        # another connection took EPS[1] meanwhile, the rotation is back at the dead EPS[0]:
        # it is skipped
        (2, {EPS[0]}, EPS[1], EPS[2]),
        (1, {EPS[0], EPS[1]}, EPS[2], EPS[0]),
        # every endpoint failed once: go on with the rotation (the attempts are bounded anyway)
        (0, set(EPS), EPS[1], EPS[2]),
    ],
)
def test_a_retry_skips_the_endpoints_it_already_tried(
    others: int, tried: set[str], expected: str, then: str
) -> None:
    lb, _ = balancer()
    lb.next_endpoint(KEY, "a")  # the first attempt
    picks(lb, ["other"] * others)  # concurrent connections move the shared index
    assert lb.next_endpoint(KEY, "a", tried) == expected
    assert lb.next_endpoint(KEY, "b") == then  # the rotation goes on after the choice


def test_endpoint_removal_keeps_affinity_of_the_endpoints_that_remain() -> None:
    lb, _ = balancer(affinity=60)
    assert picks(lb, ["a", "b", "c"]) == EPS
    lb.set_endpoints(KEY, [EPS[0], EPS[2], "10.244.1.9:80"])
    assert lb.session(KEY, "b") is None  # its endpoint went away
    assert lb.next_endpoint(KEY, "a") == EPS[0]
    assert lb.next_endpoint(KEY, "c") == EPS[2]
    assert lb.next_endpoint(KEY, "b") == EPS[0]  # a new choice: the index started over


def test_same_endpoints_in_another_order_change_nothing() -> None:
    lb, _ = balancer()
    assert lb.next_endpoint(KEY, "a") == EPS[0]
    lb.set_endpoints(KEY, list(reversed(EPS)))
    assert lb.endpoints(KEY) == EPS
    assert lb.next_endpoint(KEY, "a") == EPS[1]  # the rotation goes on


def test_new_endpoints_are_shuffled_and_the_index_reset() -> None:
    order: list[list[str]] = []
    lb = LoadBalancer(lambda: 0.0, shuffle=lambda items: (items.reverse(), order.append(items)))
    lb.set_service(KEY, None)
    lb.set_endpoints(KEY, EPS)
    assert order == [list(reversed(EPS))]
    assert picks(lb, ["a", "a"]) == [EPS[2], EPS[1]]


def test_turning_affinity_off_forgets_the_records() -> None:
    lb, _ = balancer(affinity=60)
    lb.next_endpoint(KEY, "a")
    lb.set_service(KEY, None)
    assert lb.session(KEY, "a") is None
    assert picks(lb, ["a", "a"]) == [EPS[1], EPS[2]]


@pytest.mark.parametrize("endpoints", [[], None])
def test_no_endpoints_or_no_service_is_an_error(endpoints: list[str] | None) -> None:
    lb = LoadBalancer(lambda: 0.0)
    if endpoints is not None:
        lb.set_service(KEY, None)
        lb.set_endpoints(KEY, endpoints)
    assert not lb.has_endpoints(KEY)
    with pytest.raises(NoEndpointsError, match="no endpoints for default/myapp:http"):
        lb.next_endpoint(KEY, "a")


def test_deleted_service_forgets_everything() -> None:
    lb, _ = balancer(affinity=60)
    lb.next_endpoint(KEY, "a")
    lb.delete_service(KEY)
    assert lb.services() == [] and lb.endpoints(KEY) == []
    with pytest.raises(NoEndpointsError):
        lb.next_endpoint(KEY, "a")
