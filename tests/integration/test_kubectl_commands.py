"""Every kubectl command of the Service workflow, against a real `kubesvc apiserver`."""

from __future__ import annotations

import json
import os
import re
import select
import stat
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import KUBECTL, Kubectl

pytestmark = pytest.mark.integration

WEB = """\
apiVersion: v1
kind: Service
metadata:
  name: web
  labels:
    app: web
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: http
"""

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  labels:
    app: shop
spec:
  replicas: 1
  selector:
    matchLabels:
      app: shop
  template:
    metadata:
      labels:
        app: shop
    spec:
      containers:
      - name: shop
        image: nginx:1.27
        ports:
        - containerPort: 8080
"""


def rows(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]


def test_apply_get_formats(kubectl: Kubectl) -> None:
    assert kubectl("apply", "-f", "-", input=WEB) == "service/web created\n"
    wide = rows(kubectl("get", "svc", "web", "-o", "wide"))
    assert wide[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
    assert wide[1][-1] == "app=web"
    obj = yaml.safe_load(kubectl("get", "svc", "web", "-o", "yaml"))
    assert obj["kind"] == "Service" and obj["apiVersion"] == "v1"
    meta = obj["metadata"]
    assert meta["uid"] and meta["resourceVersion"].isdigit() and meta["creationTimestamp"]
    assert "kubectl.kubernetes.io/last-applied-configuration" in meta["annotations"]
    spec = obj["spec"]
    assert spec["clusterIPs"] == [spec["clusterIP"]]
    assert spec["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]
    assert spec["type"] == "ClusterIP" and spec["internalTrafficPolicy"] == "Cluster"
    assert obj["status"] == {"loadBalancer": {}}
    listed = json.loads(kubectl("get", "svc", "-o", "json"))
    assert listed["kind"] == "List"
    assert "web" in [item["metadata"]["name"] for item in listed["items"]]
    assert kubectl("get", "svc", "web", "-o", "jsonpath={.spec.ports[0].port}") == "80"
    assert kubectl("get", "svc", "-l", "app=web", "-o", "name") == "service/web\n"
    assert kubectl("get", "svc", "-l", "app!=web", "-o", "name") == "service/kubernetes\n"
    every = rows(kubectl("get", "svc", "-A"))
    assert every[0][:2] == ["NAMESPACE", "NAME"]
    assert every[-1][:2] == ["default", "web"] or ["default", "web"] in [r[:2] for r in every]


def test_apply_update_changes_port(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=WEB)
    ip = kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
    changed = WEB.replace("port: 80", "port: 8081")
    assert kubectl("apply", "-f", "-", input=changed) == "service/web configured\n"
    ports = json.loads(kubectl("get", "svc", "web", "-o", "jsonpath={.spec.ports}"))
    assert ports == [{"name": "http", "port": 8081, "protocol": "TCP", "targetPort": "http"}]
    assert kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}") == ip


def test_describe(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=WEB)
    out = kubectl("describe", "svc", "web")
    lines = dict(
        (k.strip(), v.strip())
        for k, _, v in (line.partition(":") for line in out.splitlines())
        if v.strip()
    )
    assert lines["Name"] == "web" and lines["Namespace"] == "default"
    assert lines["Type"] == "ClusterIP" and lines["IP Families"] == "IPv4"
    assert lines["IP Family Policy"] == "SingleStack"
    assert lines["Selector"] == "app=web" and lines["Session Affinity"] == "None"
    assert "Events:" in out
    missing = kubectl.run("describe", "svc", "nosuch", check=False)
    assert missing.returncode == 1
    assert 'Error from server (NotFound): services "nosuch" not found' in missing.stderr


def test_invalid_service_message(kubectl: Kubectl) -> None:
    bad = WEB.replace("name: web\n", "name: bad\n", 1).replace("port: 80", "port: 70000")
    result = kubectl.run("apply", "-f", "-", input=bad, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        'The Service "bad" is invalid: spec.ports[0].port: Invalid value: 70000: '
        "must be between 1 and 65535, inclusive"
    )
    assert kubectl.run("get", "svc", "bad", check=False).returncode == 1


def test_unknown_field_strict(kubectl: Kubectl) -> None:
    bad = WEB.replace("name: web\n", "name: unk\n", 1).replace("  ports:", "  portz: 1\n  ports:")
    result = kubectl.run("apply", "-f", "-", input=bad, check=False)
    assert result.returncode == 1
    assert 'strict decoding error: unknown field "spec.portz"' in result.stderr
    warn = kubectl.run("apply", "--validate=warn", "-f", "-", input=bad)
    assert 'Warning: unknown field "spec.portz"' in warn.stderr
    kubectl("delete", "svc", "unk")


def test_create_service_kinds(kubectl: Kubectl) -> None:
    assert kubectl("create", "service", "clusterip", "cip", "--tcp=81:8080", "--tcp=5678:http") == (
        "service/cip created\n"
    )
    ports = json.loads(kubectl("get", "svc", "cip", "-o", "jsonpath={.spec.ports}"))
    assert [p["name"] for p in ports] == ["81-8080", "5678-http"]
    assert ports[1]["targetPort"] == "http"
    out = kubectl("create", "service", "nodeport", "np", "--tcp=80:8080", "--node-port=30080")
    assert out == "service/np created\n"
    row = rows(kubectl("get", "svc", "np"))[1]
    assert row[1] == "NodePort" and row[4] == "80:30080/TCP"
    taken = kubectl.run(
        "create", "service", "nodeport", "np2", "--tcp=80:8080", "--node-port=30080", check=False
    )
    assert taken.returncode == 1
    assert "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated" in (
        taken.stderr
    )
    out = kubectl("create", "service", "externalname", "ext", "--external-name=example.com")
    assert out == "service/ext created\n"
    row = rows(kubectl("get", "svc", "ext"))[1]
    assert row[1:5] == ["ExternalName", "<none>", "example.com", "<none>"]
    again = kubectl.run("create", "service", "clusterip", "cip", "--tcp=80", check=False)
    assert again.returncode == 1
    assert 'services "cip" already exists' in again.stderr
    headless = kubectl("create", "service", "clusterip", "hl", "--clusterip=None", "--tcp=80")
    assert headless == "service/hl created\n"
    assert rows(kubectl("get", "svc", "hl"))[1][2] == "None"


def test_explicit_cluster_ip_rules(kubectl: Kubectl) -> None:
    svc = WEB.replace("name: web\n", "name: fixed\n", 1).replace(
        "spec:\n", "spec:\n  clusterIP: 10.96.0.200\n"
    )
    assert kubectl("apply", "-f", "-", input=svc) == "service/fixed created\n"
    twin = svc.replace("name: fixed\n", "name: twin\n", 1)
    result = kubectl.run("apply", "-f", "-", input=twin, check=False)
    assert result.stderr.strip() == (
        'The Service "twin" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.200"}: '
        "failed to allocate IP 10.96.0.200: provided IP is already allocated"
    )
    outside = svc.replace("name: fixed\n", "name: outside\n", 1).replace("10.96.0.200", "10.0.0.9")
    result = kubectl.run("apply", "-f", "-", input=outside, check=False)
    assert result.stderr.strip() == (
        'The Service "outside" is invalid: spec.clusterIPs: Invalid value: []string{"10.0.0.9"}: '
        "failed to allocate IP 10.0.0.9: the provided IP (10.0.0.9) is not in the valid range. "
        "The range of valid IPs is 10.96.0.0/12"
    )
    immutable = kubectl.run(
        "patch", "svc", "fixed", "-p", '{"spec":{"clusterIP":"10.96.0.201"}}', check=False
    )
    assert immutable.returncode == 1
    assert "spec.clusterIPs[0]" in immutable.stderr or "spec.clusterIP" in immutable.stderr
    kubectl("delete", "svc", "fixed")
    # the address is free again once the Service is gone
    assert kubectl("apply", "-f", "-", input=twin) == "service/twin created\n"
    kubectl("delete", "svc", "twin")


def test_patch_label_annotate(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=WEB)
    assert kubectl("label", "svc", "web", "tier=front") == "service/web labeled\n"
    assert kubectl("annotate", "svc", "web", "note=hello") == "service/web annotated\n"
    meta = json.loads(kubectl("get", "svc", "web", "-o", "jsonpath={.metadata}"))
    assert meta["labels"] == {"app": "web", "tier": "front"}
    assert meta["annotations"]["note"] == "hello"
    assert kubectl("label", "svc", "web", "tier-") == "service/web unlabeled\n"
    out = kubectl("patch", "svc", "web", "-p", '{"spec":{"sessionAffinity":"ClientIP"}}')
    assert out == "service/web patched\n"
    affinity = kubectl(
        "get", "svc", "web", "-o", "jsonpath={.spec.sessionAffinityConfig.clientIP.timeoutSeconds}"
    )
    assert affinity == "10800"
    out = kubectl(
        "patch", "svc", "web", "--type", "merge", "-p", '{"metadata":{"labels":{"x":"1"}}}'
    )
    assert out == "service/web patched\n"
    out = kubectl(
        "patch",
        "svc",
        "web",
        "--type",
        "json",
        "-p",
        '[{"op":"replace","path":"/spec/ports/0/port","value":8088}]',
    )
    assert out == "service/web patched\n"
    assert kubectl("get", "svc", "web", "-o", "jsonpath={.spec.ports[0].port}") == "8088"
    nochange = kubectl(
        "patch", "svc", "web", "--type", "merge", "-p", '{"metadata":{"labels":{"x":"1"}}}'
    )
    assert nochange == "service/web patched (no change)\n"


def test_edit_with_editor_script(kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl("apply", "-f", "-", input=WEB.replace("name: web\n", "name: edited\n", 1))
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/type: ClusterIP/type: NodePort/' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    out = kubectl("edit", "svc", "edited", env={"EDITOR": str(editor), "KUBE_EDITOR": str(editor)})
    assert out == "service/edited edited\n"
    row = rows(kubectl("get", "svc", "edited"))[1]
    assert row[1] == "NodePort" and re.fullmatch(r"80:\d{5}/TCP", row[4])
    kubectl("delete", "svc", "edited")


def test_expose_and_scale(kubectl: Kubectl) -> None:
    assert kubectl("apply", "-f", "-", input=DEPLOY) == "deployment.apps/shop created\n"
    assert kubectl("expose", "deployment", "shop", "--port=80", "--target-port=8080") == (
        "service/shop exposed\n"
    )
    spec = json.loads(kubectl("get", "svc", "shop", "-o", "jsonpath={.spec}"))
    assert spec["selector"] == {"app": "shop"}
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 8080}]
    assert kubectl("scale", "deployment", "shop", "--replicas=3") == "deployment.apps/shop scaled\n"
    assert kubectl("get", "deploy", "shop", "-o", "jsonpath={.spec.replicas}") == "3"
    bad = kubectl.run(
        "scale", "deployment", "shop", "--replicas=5", "--current-replicas=1", check=False
    )
    assert bad.returncode == 1 and "Expected replicas to be 1, was 3" in bad.stderr
    # with a precondition kubectl PUTs the whole Scale, without a Content-Type header
    out = kubectl("scale", "deployment", "shop", "--replicas=2", "--current-replicas=3")
    assert out == "deployment.apps/shop scaled\n"
    assert kubectl("get", "deploy", "shop", "-o", "jsonpath={.spec.replicas}") == "2"
    table = rows(kubectl("get", "deploy", "shop", "-o", "wide"))
    assert table[0] == [
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ]
    assert table[1][0:4] == ["shop", "0/2", "0", "0"]
    assert table[1][5:] == ["shop", "nginx:1.27", "app=shop"]


def test_delete_by_name_and_file(kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "gone.yaml"
    manifest.write_text(WEB.replace("name: web\n", "name: gone\n", 1))
    kubectl("apply", "-f", str(manifest))
    assert kubectl("delete", "-f", str(manifest)) == 'service "gone" deleted\n'
    missing = kubectl.run("delete", "-f", str(manifest), check=False)
    assert missing.returncode == 1
    assert (
        f'Error from server (NotFound): error when deleting "{manifest}": services "gone" not found'
        in (missing.stderr)
    )
    kubectl("apply", "-f", str(manifest))
    assert kubectl("delete", "svc", "gone") == 'service "gone" deleted\n'
    assert kubectl("delete", "svc", "gone", "--ignore-not-found") == ""


WATCHED = """\
apiVersion: v1
kind: Service
metadata:
  name: w1
  labels:
    watch: me
spec:
  ports:
  - port: 80
"""


def read_lines(proc: subprocess.Popen[bytes], count: int, timeout: float = 20) -> list[str]:
    """Up to `count` more lines of a child's stdout, waiting at most `timeout` seconds.

    Reads the pipe unbuffered, so a line that arrived is never left behind in a buffer."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    pending = getattr(proc, "_pending", b"")
    deadline = time.monotonic() + timeout
    while pending.count(b"\n") < count and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            pending += chunk
    *lines, rest = pending.split(b"\n")
    taken, left = lines[:count], lines[count:]
    proc._pending = b"\n".join([*left, rest])  # type: ignore[attr-defined]
    return [line.decode() for line in taken]


def test_get_watch(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=WATCHED)
    cmd = [
        KUBECTL,
        "--kubeconfig",
        str(kubectl.kubeconfig),
        "--cache-dir",
        str(kubectl.cache_dir),
        "get",
        "svc",
        "-w",
        "-l",
        "watch=me",
    ]
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
    ) as proc:
        try:
            lines = read_lines(proc, 2)  # the header and the existing Service
            kubectl("label", "svc", "w1", "extra=1")
            kubectl("delete", "svc", "w1")
            lines += read_lines(proc, 2)  # MODIFIED and DELETED
        finally:
            proc.terminate()
            proc.communicate(timeout=10)
    assert lines[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    events = [line.split() for line in lines[1:]]
    assert [e[0] for e in events] == ["w1", "w1", "w1"], lines
    assert all(e[1] == "ClusterIP" and e[4] == "80/TCP" for e in events)


def test_type_changes_allocate_and_release(kubectl: Kubectl) -> None:
    kubectl("create", "service", "clusterip", "morph", "--tcp=80:8080")
    ip = kubectl("get", "svc", "morph", "-o", "jsonpath={.spec.clusterIP}")

    def patch(spec: str) -> list[str]:
        kubectl("patch", "svc", "morph", "--type", "merge", "-p", spec)
        return rows(kubectl("get", "svc", "morph"))[1]

    row = patch('{"spec":{"type":"NodePort"}}')
    assert row[1:3] == ["NodePort", ip] and re.fullmatch(r"80:\d+/TCP", row[4])
    node_port = row[4].split(":")[1].split("/")[0]
    row = patch('{"spec":{"type":"LoadBalancer"}}')
    assert row[1:5] == ["LoadBalancer", ip, "<pending>", f"80:{node_port}/TCP"]
    row = patch('{"spec":{"type":"ClusterIP"}}')
    assert row[1:5] == ["ClusterIP", ip, "<none>", "80/TCP"]
    row = patch('{"spec":{"type":"ExternalName","externalName":"example.org"}}')
    assert row[1:5] == ["ExternalName", "<none>", "example.org", "80/TCP"]
    # the address went back to the table: it can be asked for by value again
    taker = WEB.replace("name: web\n", "name: taker\n", 1).replace(
        "spec:\n", f"spec:\n  clusterIP: {ip}\n"
    )
    assert kubectl("apply", "-f", "-", input=taker) == "service/taker created\n"
    row = patch('{"spec":{"type":"ClusterIP","externalName":null}}')
    assert row[1] == "ClusterIP" and row[2] not in (ip, "<none>")
    kubectl("delete", "svc", "morph", "taker")
