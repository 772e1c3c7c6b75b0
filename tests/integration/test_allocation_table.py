"""Seed 000's global allocation table, seen through the API as Kubernetes shows it.

Every ClusterIP is an IPAddress object naming its Service (`kubectl get ipaddresses`), written by
the allocator in the same transaction as the Service; the table is read-only through the API.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import Kubectl

pytestmark = pytest.mark.integration

SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: table-demo}
spec:
  selector: {app: demo}
  ports: [{port: 80}]
"""


def test_every_cluster_ip_is_an_ipaddress_naming_its_service(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=SERVICE)
    vip = json.loads(kubectl("get", "svc", "table-demo", "-o", "json"))["spec"]["clusterIP"]
    table = [re.split(r"\s{2,}", line) for line in kubectl("get", "ipaddresses").splitlines()]
    assert table[0] == ["NAME", "PARENTREF"]
    rows = {row[0]: row[1] for row in table[1:]}
    assert rows["10.96.0.1"] == "services/default/kubernetes"
    assert rows[vip] == "services/default/table-demo"
    obj = json.loads(kubectl("get", "ipaddress", vip, "-o", "json"))
    assert obj["kind"] == "IPAddress" and obj["apiVersion"] == "networking.k8s.io/v1"
    assert obj["spec"]["parentRef"] == {
        "group": "",
        "resource": "services",
        "namespace": "default",
        "name": "table-demo",
    }
    assert obj["metadata"]["creationTimestamp"] and obj["metadata"]["resourceVersion"]
    # deleting the Service frees its address: the entry goes in the same transaction
    kubectl("delete", "svc", "table-demo")
    assert kubectl.run("get", "ipaddress", vip, check=False).returncode == 1


def test_the_table_is_read_only_through_the_api(kubectl: Kubectl) -> None:
    refused = kubectl.run("delete", "ipaddress", "10.96.0.1", check=False)
    assert refused.returncode == 1
    assert "MethodNotAllowed" in refused.stderr
    assert (
        kubectl("get", "ipaddress", "10.96.0.1", "-o", "name")
        == "ipaddress.networking.k8s.io/10.96.0.1\n"
    )
