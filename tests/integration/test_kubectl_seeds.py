"""Seeds 001 and 002 replayed with the real kubectl against a real `kubesvc apiserver`.

Outputs are compared with what the seeds show, allowing only what must differ: addresses,
ages and the NodePort number.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from tests.conftest import Kubectl

pytestmark = pytest.mark.integration

SEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "seeds"
AGE = r"\d+[smhdy](\d+[smhd])?"


def rows(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]


def in_service_range(ip: str) -> bool:
    return ipaddress.IPv4Address(ip) in ipaddress.IPv4Network("10.96.0.0/12")


def test_default_kubernetes_service(kubectl: Kubectl) -> None:
    out = kubectl("get", "svc", "-n", "default")
    table = rows(out)
    assert table[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert table[1][:5] == ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"]
    assert re.fullmatch(AGE, table[1][5])
    namespaces = [r[0] for r in rows(kubectl("get", "ns"))[1:]]
    assert namespaces == ["default", "kube-node-lease", "kube-public", "kube-system"]


def test_seed_001_walkthrough(kubectl: Kubectl) -> None:
    out = kubectl("apply", "-f", str(SEEDS / "myapp-deploy.yaml"))
    assert out == "deployment.apps/myapp-deploy created\n"
    out = kubectl("apply", "-f", str(SEEDS / "myapp-service.yaml"))
    assert out == "service/myapp created\n"
    table = rows(kubectl("get", "svc", "myapp"))
    assert table[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    name, kind, cluster_ip, external, ports, age = table[1]
    assert (name, kind, external, ports) == ("myapp", "ClusterIP", "<none>", "80/TCP")
    assert in_service_range(cluster_ip) and re.fullmatch(AGE, age)

    # applying the same file again changes nothing
    assert kubectl("apply", "-f", str(SEEDS / "myapp-service.yaml")) == "service/myapp unchanged\n"

    out = kubectl("apply", "-f", str(SEEDS / "myapp-svc-headless.yaml"))
    assert out == "service/myapp-headless created\n"
    table = rows(kubectl("get", "svc"))
    by_name = {r[0]: r for r in table[1:]}
    assert by_name["myapp-headless"][1:5] == ["ClusterIP", "None", "<none>", "80/TCP"]

    # nodeport.yaml over the ClusterIP one: same address, a node port appears
    assert kubectl("apply", "-f", str(SEEDS / "nodeport.yaml")) == "service/myapp configured\n"
    table = rows(kubectl("get", "svc"))
    by_name = {r[0]: r for r in table[1:]}
    assert table[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert by_name["myapp"][1:4] == ["NodePort", cluster_ip, "<none>"]
    match = re.fullmatch(r"80:(\d+)/TCP", by_name["myapp"][4])
    assert match and 30000 <= int(match.group(1)) <= 32767

    assert kubectl("create", "-f", str(SEEDS / "ex.yaml")) == "service/my-service-1 created\n"
    table = rows(kubectl("get", "svc"))
    assert table[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    by_name = {r[0]: r for r in table[1:]}
    assert by_name["my-service-1"][1:5] == ["ExternalName", "<none>", "hub.atguigu.com", "<none>"]
    assert [r[0] for r in table[1:]] == ["kubernetes", "my-service-1", "myapp", "myapp-headless"]


def test_seed_002_service(kubectl: Kubectl) -> None:
    assert kubectl("apply", "-f", str(SEEDS / "hostnames.yaml")) == (
        "deployment.apps/hostnames created\n"
    )
    assert kubectl("apply", "-f", str(SEEDS / "hostnames-svc.yaml")) == (
        "service/hostnames created\n"
    )
    table = rows(kubectl("get", "service", "hostnames"))
    assert table[1][0:2] == ["hostnames", "ClusterIP"]
    assert in_service_range(table[1][2])
    assert table[1][3:5] == ["<none>", "80/TCP"]
    spec = kubectl(
        "get",
        "svc",
        "hostnames",
        "-o",
        "jsonpath={.spec.ports[0].name} {.spec.ports[0].targetPort} "
        "{.spec.sessionAffinity} {.spec.ipFamilyPolicy} {.spec.ipFamilies[0]}",
    )
    assert spec == "default 9376 None SingleStack IPv4"
