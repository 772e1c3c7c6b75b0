"""`kubectl get` prints the same columns for every kind as a real cluster."""

from __future__ import annotations

import re

import pytest

from tests.conftest import POD_WIDE_HEADER, Kubectl

pytestmark = pytest.mark.integration

OBJECTS = """\
apiVersion: v1
kind: Endpoints
metadata:
  name: many
subsets:
- addresses:
  - ip: 10.244.1.5
  - ip: 10.244.2.5
  - ip: 10.244.3.5
  - ip: 10.244.1.6
  - ip: 10.244.2.6
  ports:
  - port: 9376
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: many-abcde
  labels:
    kubernetes.io/service-name: many
addressType: IPv4
endpoints:
- addresses: ["10.244.1.5"]
  conditions: {ready: true}
ports:
- name: default
  port: 9376
  protocol: TCP
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  rules:
  - host: myapp.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: myapp
            port:
              number: 80
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: rs1
spec:
  replicas: 2
  selector:
    matchLabels: {app: rs1}
  template:
    metadata:
      labels: {app: rs1}
    spec:
      containers:
      - name: c
        image: busybox
---
apiVersion: v1
kind: Pod
metadata:
  name: lone
spec:
  containers:
  - name: c
    image: busybox
---
apiVersion: v1
kind: Node
metadata:
  name: node-9
"""


def header(text: str) -> list[str]:
    return re.split(r"\s{2,}", text.strip().splitlines()[0].strip())


def first_row(text: str) -> list[str]:
    return re.split(r"\s{2,}", text.strip().splitlines()[1].strip())


def test_columns_of_every_kind(kubectl: Kubectl) -> None:
    out = kubectl("apply", "-f", "-", input=OBJECTS)
    assert out.splitlines() == [
        "endpoints/many created",
        "endpointslice.discovery.k8s.io/many-abcde created",
        "ingress.networking.k8s.io/web created",
        "replicaset.apps/rs1 created",
        "pod/lone created",
        "node/node-9 created",
    ]
    ep = kubectl("get", "endpoints", "many")
    assert header(ep) == ["NAME", "ENDPOINTS", "AGE"]
    assert first_row(ep)[1] == "10.244.1.5:9376,10.244.2.5:9376,10.244.3.5:9376 + 2 more..."
    slices = kubectl("get", "endpointslices", "many-abcde")
    assert header(slices) == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert first_row(slices)[:4] == ["many-abcde", "IPv4", "9376", "10.244.1.5"]
    ing = kubectl("get", "ingress", "web")
    assert header(ing) == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert first_row(ing)[:3] == ["web", "<none>", "myapp.example.com"]
    rs = kubectl("get", "rs", "rs1", "-o", "wide")
    assert header(rs) == [
        "NAME",
        "DESIRED",
        "CURRENT",
        "READY",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ]
    assert first_row(rs)[:4] == ["rs1", "2", "0", "0"]
    pod = kubectl("get", "pod", "lone", "-o", "wide")
    assert header(pod) == POD_WIDE_HEADER
    row = first_row(pod)
    assert row[:4] == ["lone", "0/1", "Pending", "0"] and row[5:] == ["<none>"] * 4
    node = kubectl("get", "nodes")
    assert header(node) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert first_row(node)[:3] == ["node-9", "Unknown", "<none>"]
    ns = kubectl("get", "ns", "default")
    assert header(ns) == ["NAME", "STATUS", "AGE"] and first_row(ns)[:2] == ["default", "Active"]
    everything = kubectl("get", "all")
    assert "pod/lone" in everything and "service/kubernetes" in everything
    assert "replicaset.apps/rs1" in everything
