"""Pod network plans, pod namespace names and the argv that runs a process inside a pod."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubesvc.net import ip, plan, podnet
from kubesvc.net.plan import PlanError, exec_argv, plan_pod, plan_topology

GOLDEN = Path(__file__).parent / "golden"
T = plan_topology("ab12c", 3)


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_pod_commands_golden() -> None:
    pod = plan_pod(T, "node-2", "ks-ab12c-p-web-1", "10.244.2.7")
    text = "".join(
        f"## {label}\n" + plan.render(pod.commands(have_netns=n, have_link=k))
        for label, n, k in [
            ("fresh", False, False),
            ("netns only", True, False),
            ("both", True, True),
        ]
    )
    golden("pod.txt", text)


def test_pod_plan_fields() -> None:
    pod = plan_pod(T, "ks-ab12c-node-1", "ks-ab12c-p-x", "10.244.1.2")
    assert pod == plan.PodNet(
        netns="ks-ab12c-p-x",
        node="node-1",
        node_netns="ks-ab12c-node-1",
        ip="10.244.1.2",
        prefix_len=24,
        gateway="10.244.1.1",
        host_veth="vkab12c102",
    )


def test_veth_names_fit_ifnamsiz() -> None:
    # the longest names: a 6-character cluster id and a /8 pod CIDR (6 hex digits of offset)
    wide = plan_topology("zzzzzz", 255, "172.18.0.0/16", "10.0.0.0/8", "192.168.0.0/16")
    assert plan_pod(wide, "node-2", "ks-zzzzzz-p-a", "10.0.2.254").host_veth == "vkzzzzzz2fe"
    last = plan_pod(wide, "node-255", "ks-zzzzzz-p-a", "10.0.255.254").host_veth
    assert last == "vkzzzzzzfffe"
    assert len("vkzzzzzz" + format(2**24 - 1, "x")) <= plan.IFNAMSIZ
    assert len(wide.host_veth) <= plan.IFNAMSIZ
    assert max(len(n.port) for n in wide.nodes) <= plan.IFNAMSIZ


@pytest.mark.parametrize(
    ("node", "netns", "pod_ip", "message"),
    [
        ("node-9", "ks-ab12c-p-a", "10.244.1.5", "no node 'node-9' in cluster ab12c (3 nodes)"),
        (
            "node-1",
            "ks-other-p-a",
            "10.244.1.5",
            "pod namespace 'ks-other-p-a' must start with 'ks-ab12c-p-'",
        ),
        (
            "node-1",
            "ks-ab12c-p-A",
            "10.244.1.5",
            "pod namespace suffix 'A' must be [a-z0-9-], at most 48 characters",
        ),
        (
            "node-1",
            "ks-ab12c-p-a",
            "10.244.2.5",
            "pod IP 10.244.2.5 is not a free address of node-1's 10.244.1.0/24",
        ),
        (
            "node-1",
            "ks-ab12c-p-a",
            "10.244.1.1",
            "pod IP 10.244.1.1 is not a free address of node-1's 10.244.1.0/24",
        ),
        (
            "node-1",
            "ks-ab12c-p-a",
            "10.244.1.255",
            "pod IP 10.244.1.255 is not a free address of node-1's 10.244.1.0/24",
        ),
        (
            "node-1",
            "ks-ab12c-p-a",
            "10.244.1",
            "pod IP '10.244.1': Expected 4 octets in '10.244.1'",
        ),
    ],
)
def test_pod_plan_errors(node: str, netns: str, pod_ip: str, message: str) -> None:
    with pytest.raises(PlanError) as err:
        plan_pod(T, node, netns, pod_ip)
    assert str(err.value) == message


def test_names() -> None:
    assert plan.pod_netns("ab12c", "web-7f9c-x2kq") == "ks-ab12c-p-web-7f9c-x2kq"
    assert plan.node_netns("ab12c", "node-12") == "ks-ab12c-node-12"
    with pytest.raises(PlanError, match="node name 'worker' must look like node-1"):
        plan.node_netns("ab12c", "worker")
    with pytest.raises(PlanError, match="suffix '-x' must be"):
        plan.pod_netns("ab12c", "-x")


def test_exec_argv() -> None:
    assert exec_argv("ks-a-p-x", ["sleep", "1"]) == [
        "ip",
        "netns",
        "exec",
        "ks-a-p-x",
        "sleep",
        "1",
    ]
    assert exec_argv("ks-a-p-x", ["sh", "-c", "echo $0"], "web-1") == [
        "ip",
        "netns",
        "exec",
        "ks-a-p-x",
        "unshare",
        "--uts",
        "sh",
        "-c",
        'hostname "$0" && exec "$@"',
        "web-1",
        "sh",
        "-c",
        "echo $0",
    ]
    assert podnet.node_exec_argv("ks-a-node-1", ["bash"]) == [
        "ip",
        "netns",
        "exec",
        "ks-a-node-1",
        "bash",
    ]
    with pytest.raises(PlanError, match=r"^hostname '-rf' must be lower-case"):
        exec_argv("ks-a-p-x", ["true"], "-rf")
    with pytest.raises(PlanError, match="no command to run"):
        exec_argv("ks-a-p-x", [])


def test_write_etc_and_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ip, "ETC_NETNS", tmp_path)
    where = podnet.write_etc("ks-ab-p-x", "nameserver 10.96.0.10\n", "127.0.0.1 localhost\n")
    assert where == tmp_path / "ks-ab-p-x"
    assert sorted(p.name for p in where.iterdir()) == ["hosts", "resolv.conf"]
    assert (where / "resolv.conf").read_text() == "nameserver 10.96.0.10\n"
    assert (where / "hosts").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in ip.etc_dirs("ks-ab-")] == ["ks-ab-p-x"]
    assert ip.etc_dirs("ks-a-") == []
    assert ip.remove_etc("ks-ab-p-x") is True
    assert ip.remove_etc("ks-ab-p-x") is False
    with pytest.raises(PlanError, match="is not a kubesvc pod namespace name"):
        podnet.write_etc("../etc", "", "")
