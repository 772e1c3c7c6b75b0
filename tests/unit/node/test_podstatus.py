"""Pod status as the kubelet reports it: phases, conditions, container statuses, back-off."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubesvc.node.podstatus import (
    ContainerView,
    PodView,
    Running,
    Terminated,
    Waiting,
    crash_loop_message,
    crash_loop_waiting,
    go_duration,
    pod_status,
    restart_backoff,
    should_restart,
)

T0, T1, T2 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:05Z", "2026-01-01T00:01:00Z"


def make_pod(*names: str, restart: str = "Always", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web-1", "namespace": "default", "uid": "u-1"},
        "spec": {
            "containers": [{"name": n, "image": "wangyanglinux/myapp:v2"} for n in names],
            "restartPolicy": restart,
            **spec,
        },
        "status": {
            "phase": "Pending",
            "qosClass": "BestEffort",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": T0,
                }
            ],
        },
    }


def running(name: str, ready: bool = True, **kw: Any) -> ContainerView:
    return ContainerView(
        name=name,
        image="docker.io/wangyanglinux/myapp:v2",
        image_id="docker.io/wangyanglinux/myapp@sha256:aa",
        container_id=f"id-{name}",
        state=Running(started_at=T1),
        ready=ready,
        **kw,
    )


def exited(name: str, code: int, **kw: Any) -> ContainerView:
    term = Terminated(exit_code=code, started_at=T1, finished_at=T2, container_id=f"id-{name}")
    return ContainerView(name=name, container_id=f"id-{name}", state=term, **kw)


def view(*containers: ContainerView, **kw: Any) -> PodView:
    return PodView(
        containers=containers,
        pod_ips=("10.244.1.5",),
        host_ips=("172.18.0.2",),
        start_time=T1,
        **kw,
    )


def conditions(status: dict[str, Any]) -> list[tuple[str, ...]]:
    return [
        tuple(c[k] for k in ("type", "status", "reason", "message") if k in c)
        for c in status["conditions"]
    ]


def cond(kind: str, since: str) -> dict[str, Any]:
    return {"type": kind, "status": "True", "lastProbeTime": None, "lastTransitionTime": since}


def test_running_and_ready_full_status() -> None:
    status = pod_status(make_pod("myapp"), view(running("myapp")), now=T2)
    assert status == {
        "phase": "Running",
        "conditions": [
            cond("PodReadyToStartContainers", T2),
            cond("Initialized", T2),
            cond("Ready", T2),
            cond("ContainersReady", T2),
            cond("PodScheduled", T0),
        ],
        "hostIP": "172.18.0.2",
        "hostIPs": [{"ip": "172.18.0.2"}],
        "podIP": "10.244.1.5",
        "podIPs": [{"ip": "10.244.1.5"}],
        "startTime": T1,
        "containerStatuses": [
            {
                "name": "myapp",
                "state": {"running": {"startedAt": T1}},
                "lastState": {},
                "ready": True,
                "restartCount": 0,
                "image": "docker.io/wangyanglinux/myapp:v2",
                "imageID": "docker.io/wangyanglinux/myapp@sha256:aa",
                "containerID": "kubesvc://id-myapp",
                "started": True,
            }
        ],
        "qosClass": "BestEffort",
    }


def test_containers_being_created_are_pending() -> None:
    status = pod_status(make_pod("a", "b"), view(running("a")), now=T2)
    assert status["phase"] == "Pending"
    assert status["containerStatuses"][1] == {
        "name": "b",
        "state": {"waiting": {"reason": "ContainerCreating"}},
        "lastState": {},
        "ready": False,
        "restartCount": 0,
        "image": "wangyanglinux/myapp:v2",
        "imageID": "",
        "started": False,
    }
    assert conditions(status)[2:4] == [
        ("Ready", "False", "ContainersNotReady", "containers with unready status: [b]"),
        ("ContainersReady", "False", "ContainersNotReady", "containers with unready status: [b]"),
    ]


def test_unready_containers_listed_in_spec_order() -> None:
    status = pod_status(
        make_pod("a", "b", "c"),
        view(running("c", False), running("b"), running("a", False)),
        now=T2,
    )
    assert status["phase"] == "Running"
    assert conditions(status)[3] == (
        "ContainersReady",
        "False",
        "ContainersNotReady",
        "containers with unready status: [a c]",
    )
    assert [s["name"] for s in status["containerStatuses"]] == ["a", "b", "c"]


def test_transition_time_kept_while_status_unchanged() -> None:
    pod = make_pod("myapp")
    first = pod_status(pod, view(running("myapp", False)), now=T1)
    pod["status"] = first
    second = pod_status(pod, view(running("myapp", False)), now=T2)
    assert [c["lastTransitionTime"] for c in second["conditions"]] == [T1, T1, T1, T1, T0]
    pod["status"] = second
    third = pod_status(pod, view(running("myapp", True)), now="2026-01-01T00:02:00Z")
    assert [c["lastTransitionTime"] for c in third["conditions"]] == [
        T1, T1, "2026-01-01T00:02:00Z", "2026-01-01T00:02:00Z", T0
    ]  # fmt: skip
    assert third["startTime"] == T1


def test_crash_loop_waiting_with_last_state() -> None:
    last = Terminated(exit_code=1, started_at=T1, finished_at=T2, container_id="id-old")
    crashing = ContainerView(
        name="myapp",
        state=crash_loop_waiting(10, "myapp", make_pod("myapp")),
        last_state=last,
        restart_count=2,
        container_id="id-old",
    )
    status = pod_status(make_pod("myapp"), view(crashing), now=T2)
    assert status["phase"] == "Running"  # restartPolicy Always: in the process of restarting
    cs = status["containerStatuses"][0]
    assert cs["state"] == {
        "waiting": {
            "reason": "CrashLoopBackOff",
            "message": "back-off 10s restarting failed container=myapp pod=web-1_default(u-1)",
        }
    }
    assert cs["lastState"] == {
        "terminated": {
            "exitCode": 1,
            "reason": "Error",
            "startedAt": T1,
            "finishedAt": T2,
            "containerID": "kubesvc://id-old",
        }
    }
    assert (cs["restartCount"], cs["ready"], cs["started"]) == (2, False, False)


@pytest.mark.parametrize(
    ("restart", "codes", "terminal", "phase"),
    [
        ("Always", [0], False, "Running"),
        ("Always", [0], True, "Succeeded"),
        ("Always", [1], True, "Failed"),
        ("OnFailure", [0, 0], False, "Succeeded"),
        ("OnFailure", [0, 1], False, "Running"),
        ("Never", [0, 0], False, "Succeeded"),
        ("Never", [0, 2], False, "Failed"),
    ],
)
def test_phase_when_all_containers_exited(
    restart: str, codes: list[int], terminal: bool, phase: str
) -> None:
    names = [f"c{i}" for i in range(len(codes))]
    views = [exited(n, code) for n, code in zip(names, codes, strict=True)]
    status = pod_status(make_pod(*names, restart=restart), view(*views, terminal=terminal), now=T2)
    assert status["phase"] == phase


def test_one_running_one_exited_is_running() -> None:
    status = pod_status(
        make_pod("a", "b", restart="Never"), view(running("a"), exited("b", 1)), now=T2
    )
    assert status["phase"] == "Running"


def test_succeeded_conditions_and_terminated_state() -> None:
    status = pod_status(make_pod("job", restart="Never"), view(exited("job", 0)), now=T2)
    assert status["phase"] == "Succeeded"
    assert conditions(status) == [
        ("PodReadyToStartContainers", "True"),
        ("Initialized", "True", "PodCompleted"),
        ("Ready", "False", "PodCompleted"),
        ("ContainersReady", "False", "PodCompleted"),
        ("PodScheduled", "True"),
    ]
    assert status["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"


def test_failed_conditions() -> None:
    status = pod_status(make_pod("job", restart="Never"), view(exited("job", 3)), now=T2)
    assert status["phase"] == "Failed"
    assert conditions(status)[2:4] == [
        ("Ready", "False", "PodFailed"),
        ("ContainersReady", "False", "PodFailed"),
    ]


def test_terminal_phase_never_goes_back() -> None:
    pod = make_pod("job", restart="Never")
    pod["status"]["phase"] = "Succeeded"
    status = pod_status(pod, view(running("job")), now=T2)
    assert status["phase"] == "Succeeded"


def test_init_containers() -> None:
    pod = make_pod("app", initContainers=[{"name": "setup", "image": "busybox"}])
    status = pod_status(pod, view(), now=T2)
    assert status["phase"] == "Pending"
    assert status["initContainerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert conditions(status)[1] == (
        "Initialized",
        "False",
        "ContainersNotInitialized",
        "containers with incomplete status: [setup]",
    )
    done = view(running("app"), init_containers=(exited("setup", 0),))
    status = pod_status(pod, done, now=T2)
    assert status["phase"] == "Running"
    assert status["initContainerStatuses"][0]["ready"] is True
    assert conditions(status)[1] == ("Initialized", "True")


def test_failed_init_container_with_restart_never_fails_the_pod() -> None:
    pod = make_pod("app", restart="Never", initContainers=[{"name": "setup", "image": "busybox"}])
    status = pod_status(pod, view(init_containers=(exited("setup", 1),)), now=T2)
    assert status["phase"] == "Failed"


def test_readiness_gates() -> None:
    pod = make_pod("app", readinessGates=[{"conditionType": "example.com/lb"}])
    status = pod_status(pod, view(running("app")), now=T2)
    assert conditions(status)[2] == (
        "Ready",
        "False",
        "ReadinessGatesNotReady",
        'corresponding condition of pod readiness gate "example.com/lb" does not exist.',
    )
    gate = {"type": "example.com/lb", "status": "False", "lastTransitionTime": T0}
    pod["status"]["conditions"].insert(0, gate)
    status = pod_status(pod, view(running("app")), now=T2)
    assert status["conditions"][0] == gate  # conditions the kubelet does not own stay first
    assert conditions(status)[3][3] == (
        'the status of pod readiness gate "example.com/lb" is not "True", but False'
    )
    gate["status"] = "True"
    assert conditions(pod_status(pod, view(running("app")), now=T2))[3] == ("Ready", "True")


def test_old_ips_and_reason_are_kept() -> None:
    pod = make_pod("app")
    pod["status"].update(
        {"podIP": "10.244.1.9", "podIPs": [{"ip": "10.244.1.9"}], "reason": "X", "message": "m"}
    )
    status = pod_status(pod, PodView(), now=T2)
    assert (status["podIP"], status["reason"], status["message"]) == ("10.244.1.9", "X", "m")
    assert "hostIP" not in status
    assert status["startTime"] == T2


def test_qos_class_computed_when_missing() -> None:
    pod = make_pod("app")
    del pod["status"]["qosClass"]
    pod["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    assert pod_status(pod, view(running("app")), now=T2)["qosClass"] == "Guaranteed"


def test_input_pod_is_not_modified() -> None:
    pod = make_pod("app")
    before = copy.deepcopy(pod)
    pod_status(pod, view(running("app")), now=T2)
    assert pod == before


def test_started_false_until_startup_probe_passes() -> None:
    status = pod_status(make_pod("app"), view(running("app", False, started=False)), now=T2)
    assert status["containerStatuses"][0]["started"] is False


@pytest.mark.parametrize(
    ("restarts", "seconds", "text"),
    [(0, 0, "0s"), (1, 10, "10s"), (2, 20, "20s"), (3, 40, "40s"), (4, 80, "1m20s"),
     (5, 160, "2m40s"), (6, 300, "5m0s"), (50, 300, "5m0s")],
)  # fmt: skip
def test_restart_backoff(restarts: int, seconds: float, text: str) -> None:
    assert restart_backoff(restarts) == seconds
    assert go_duration(seconds) == text


def test_crash_loop_message() -> None:
    pod = {"metadata": {"name": "web-1", "namespace": "prod", "uid": "abc"}}
    assert crash_loop_message(40, "web", pod) == (
        "back-off 40s restarting failed container=web pod=web-1_prod(abc)"
    )
    assert go_duration(3600) == "1h0m0s"


def test_container_lifecycle_steps() -> None:
    pod = make_pod("myapp")
    life = ContainerView.waiting("myapp", "wangyanglinux/myapp:v2")
    assert life.state == Waiting(reason="ContainerCreating")
    life = life.run(T0, container_id="c1").set_ready(True)
    assert (life.state, life.restart_count, life.ready) == (Running(started_at=T0), 0, True)
    life = life.terminate(1, T1)
    assert life.state == Terminated(exit_code=1, started_at=T0, finished_at=T1, container_id="c1")
    assert life.ready is False
    life = life.run(T1, container_id="c2")  # restarted at once: one restart, the end kept
    assert (life.restart_count, life.last_state and life.last_state.container_id) == (1, "c1")
    life = life.terminate(2, T2).back_off(restart_backoff(life.restart_count), pod)
    assert life.state == Waiting(
        reason="CrashLoopBackOff",
        message="back-off 10s restarting failed container=myapp pod=web-1_default(u-1)",
    )
    assert life.last_state is not None and life.last_state.exit_code == 2
    life = life.run(T2, container_id="c3")
    assert (life.restart_count, life.container_id) == (2, "c3")
    assert life.last_state == Terminated(
        exit_code=2, started_at=T1, finished_at=T2, container_id="c2"
    )
    config = life.wait("CreateContainerConfigError", 'configmap "x" not found')
    assert config.state == Waiting(
        reason="CreateContainerConfigError", message='configmap "x" not found'
    )


def test_datetime_timestamps_are_accepted() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 1, 1, 0, 0, 5, 123456, tzinfo=UTC)
    life = ContainerView.waiting("myapp").run(moment)
    assert life.state == Running(started_at=T1)
    status = pod_status(make_pod("myapp"), view(life), now=moment)
    assert status["conditions"][0]["lastTransitionTime"] == T1


@pytest.mark.parametrize(
    ("policy", "code", "expected"),
    [("Always", 0, True), ("Always", 1, True), ("OnFailure", 0, False), ("OnFailure", 137, True),
     ("Never", 0, False), ("Never", 1, False)],
)  # fmt: skip
def test_should_restart(policy: str, code: int, expected: bool) -> None:
    assert should_restart(policy, code) is expected
