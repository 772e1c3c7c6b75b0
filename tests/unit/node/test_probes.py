"""Probe specs with their defaults, the prober worker's state machine, ports and messages."""

from __future__ import annotations

from typing import Any

import pytest

from kubesvc.node.probes import (
    ExecAction,
    HTTPGetAction,
    ProbeError,
    ProbeKind,
    ProbeResult,
    ProbeSpec,
    ProbeState,
    TCPSocketAction,
    failure_event,
    probe_exec,
    probe_url,
    resolve_port,
    restart_message,
    run_probe,
)

S, F, U = ProbeResult.SUCCESS, ProbeResult.FAILURE, ProbeResult.UNKNOWN


def test_defaults() -> None:
    spec = ProbeSpec.from_k8s({"httpGet": {"port": 80}})
    assert spec == ProbeSpec(
        http_get=HTTPGetAction(port=80, path="/", scheme="HTTP"),
        timeout_seconds=1,
        period_seconds=10,
        success_threshold=1,
        failure_threshold=3,
        initial_delay_seconds=0,
        termination_grace_period_seconds=None,
    )


def test_all_fields() -> None:
    spec = ProbeSpec.from_k8s(
        {
            "httpGet": {
                "path": "/healthz",
                "port": "http",
                "host": "127.0.0.1",
                "scheme": "HTTPS",
                "httpHeaders": [{"name": "X-Probe", "value": "1"}],
            },
            "timeoutSeconds": 5,
            "periodSeconds": 2,
            "successThreshold": 2,
            "failureThreshold": 1,
            "initialDelaySeconds": 15,
            "terminationGracePeriodSeconds": 30,
        }
    )
    assert spec.http_get == HTTPGetAction(
        port="http", path="/healthz", host="127.0.0.1", scheme="HTTPS", headers=(("X-Probe", "1"),)
    )
    assert (spec.timeout_seconds, spec.period_seconds) == (5, 2)
    assert (spec.success_threshold, spec.failure_threshold) == (2, 1)
    assert (spec.initial_delay_seconds, spec.termination_grace_period_seconds) == (15, 30)
    assert ProbeSpec.from_k8s({"tcpSocket": {"port": 6379}}).tcp_socket == TCPSocketAction(
        port=6379
    )
    assert ProbeSpec.from_k8s({"exec": {"command": ["cat", "/tmp/ok"]}}).exec == ExecAction(
        command=("cat", "/tmp/ok")
    )


@pytest.mark.parametrize(
    ("kind", "initial"),
    [(ProbeKind.READINESS, F), (ProbeKind.LIVENESS, S), (ProbeKind.STARTUP, U)],
)
def test_initial_results(kind: ProbeKind, initial: ProbeResult) -> None:
    assert ProbeState.initial(kind).result == initial


def feed(state: ProbeState, spec: ProbeSpec, outcomes: list[ProbeResult]) -> list[ProbeResult]:
    results = []
    for outcome in outcomes:
        state = state.observe(outcome, spec)
        results.append(state.result)
    return results


def test_readiness_thresholds() -> None:
    spec = ProbeSpec(success_threshold=2, failure_threshold=3)
    state = ProbeState.initial(ProbeKind.READINESS)
    assert feed(state, spec, [S, F, S, S, F, F, S, F, F, F, S, S]) == [
        F, F, F, S, S, S, S, S, S, F, F, S,
    ]  # fmt: skip


def test_unknown_outcomes_are_thrown_away() -> None:
    spec = ProbeSpec(failure_threshold=2)
    state = ProbeState.initial(ProbeKind.READINESS).observe(S, spec)
    assert feed(state, spec, [F, U, F]) == [S, S, F]


def test_liveness_failure_holds_until_new_container() -> None:
    spec = ProbeSpec(failure_threshold=2)
    state = ProbeState.initial(ProbeKind.LIVENESS)
    state = state.observe(F, spec)
    assert (state.result, state.on_hold) == (S, False)
    state = state.observe(F, spec)
    assert (state.result, state.on_hold, state.run) == (F, True, 0)
    assert not state.should_probe(spec, running_for=100, started=True)
    state = state.new_container()
    assert (state.result, state.on_hold) == (S, False)
    assert state.should_probe(spec, running_for=100, started=True)
    # the failure run starts over after the restart
    assert state.observe(F, spec).result == S


def test_readiness_failure_does_not_hold() -> None:
    spec = ProbeSpec(failure_threshold=1)
    state = ProbeState.initial(ProbeKind.READINESS).observe(S, spec).observe(F, spec)
    assert (state.result, state.on_hold) == (F, False)
    assert state.observe(S, spec).result == S


def test_not_running_container_fails() -> None:
    state = ProbeState.initial(ProbeKind.LIVENESS).container_not_running()
    assert state.result == F


@pytest.mark.parametrize(
    ("kind", "running_for", "started", "expected"),
    [
        (ProbeKind.READINESS, 4.9, True, False),  # initial delay 5
        (ProbeKind.READINESS, 5.0, True, True),
        (ProbeKind.READINESS, 60, False, False),  # waits for the startup probe
        (ProbeKind.LIVENESS, 60, False, False),
        (ProbeKind.STARTUP, 60, False, True),
        (ProbeKind.STARTUP, 60, True, False),  # done once started
    ],
)
def test_should_probe(kind: ProbeKind, running_for: float, started: bool, expected: bool) -> None:
    spec = ProbeSpec(initial_delay_seconds=5)
    assert (
        ProbeState.initial(kind).should_probe(spec, running_for=running_for, started=started)
        is expected
    )


CONTAINER: dict[str, Any] = {
    "name": "web",
    "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}],
}


@pytest.mark.parametrize(
    ("port", "expected"),
    [(80, 80), ("http", 8080), ("metrics", 9090), ("8081", 8081)],
)
def test_resolve_port(port: int | str, expected: int) -> None:
    assert resolve_port(port, CONTAINER) == expected


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ("grpc", 'strconv.Atoi: parsing "grpc": invalid syntax'),
        (0, "invalid port number: 0"),
        (70000, "invalid port number: 70000"),
        ("-1", "invalid port number: -1"),
    ],
)
def test_resolve_port_errors(port: int | str, message: str) -> None:
    with pytest.raises(ProbeError) as caught:
        resolve_port(port, CONTAINER)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("args", "url"),
    [
        (("HTTP", "10.244.1.5", 80, "/"), "http://10.244.1.5:80/"),
        (
            ("HTTPS", "10.244.1.5", 8443, "/healthz?full=1"),
            "https://10.244.1.5:8443/healthz?full=1",
        ),
        (("HTTP", "fd00::5", 80, "ready"), "http://[fd00::5]:80/ready"),
    ],
)
def test_probe_url(args: tuple[str, str, int, str], url: str) -> None:
    assert probe_url(*args) == url


def test_event_messages() -> None:
    assert (
        failure_event(ProbeKind.READINESS, "HTTP probe failed with statuscode: 503")
        == "Readiness probe failed: HTTP probe failed with statuscode: 503"
    )
    assert (
        restart_message(ProbeKind.LIVENESS, "web")
        == "Container web failed liveness probe, will be restarted"
    )


async def test_probe_exec_codes_output_and_timeout() -> None:
    async def ok(argv: list[str], timeout: float) -> int:
        assert (argv, timeout) == (["cat", "/tmp/healthy"], 1.0)
        return 0

    async def failing(argv: list[str], timeout: float) -> tuple[int, str]:
        return 1, "cat: /tmp/healthy: No such file or directory\n"

    async def hanging(argv: list[str], timeout: float) -> int:
        import asyncio

        await asyncio.sleep(10)
        return 0

    command = ["cat", "/tmp/healthy"]
    assert await probe_exec(ok, command, 1.0) == (True, "")
    assert await probe_exec(failing, command, 1.0) == (
        False,
        "cat: /tmp/healthy: No such file or directory\n",
    )
    assert await probe_exec(hanging, command, 0.05) == (
        False,
        'command "cat /tmp/healthy" timed out',
    )


async def test_run_probe_bad_port_is_unknown() -> None:
    spec = ProbeSpec.from_k8s({"tcpSocket": {"port": "nope"}})
    assert await run_probe(spec, CONTAINER, "10.244.1.5") == (
        U,
        'strconv.Atoi: parsing "nope": invalid syntax',
    )


async def test_run_probe_exec() -> None:
    async def runner(argv: list[str], timeout: float) -> int:
        return 0 if argv == ["true"] else 1

    assert await run_probe(
        ProbeSpec.from_k8s({"exec": {"command": ["true"]}}), CONTAINER, "", runner
    ) == (S, "")
    assert await run_probe(
        ProbeSpec.from_k8s({"exec": {"command": ["false"]}}), CONTAINER, "", runner
    ) == (F, "")
