"""pods/exec, pods/attach and pods/portforward refused before any upgrade, against a real
`kubesvc apiserver` (no nodes): every refusal is a Kubernetes Status that kubectl prints."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest

from tests.conftest import ApiServer, Kubectl

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

PODS = """\
apiVersion: v1
kind: Pod
metadata: {name: pending}
spec:
  containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: placed}
spec:
  nodeName: ghost
  containers: [{name: c, image: busybox}]
"""
RUNNING = {
    "status": {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": "c",
                "image": "busybox",
                "imageID": "",
                "ready": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
            }
        ],
    }
}
WEBSOCKET = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


@pytest.fixture(scope="module")
def pods(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=PODS)
    patch = json.dumps(RUNNING)
    kubectl("patch", "pod", "placed", "--subresource=status", "--type=merge", "-p", patch)


def request(
    apiserver: ApiServer, method: str, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", apiserver.port, timeout=10)
    try:
        conn.request(method, path, headers=headers)
        reply = conn.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        conn.close()


BASE = "/api/v1/namespaces/default/pods"


@pytest.mark.parametrize(
    ("method", "path", "headers", "code", "message"),
    [
        (
            "GET",
            f"{BASE}/pending/portforward",
            {**WEBSOCKET, "Sec-WebSocket-Protocol": "SPDY/3.1+portforward.k8s.io"},
            400,
            "unable to forward port because pod is not running. Current status=Pending",
        ),
        (
            "GET",
            f"{BASE}/placed/portforward",
            {**WEBSOCKET, "Sec-WebSocket-Protocol": "v4.channel.k8s.io"},
            400,
            "unsupported port-forward protocol 'v4.channel.k8s.io': kubesvc speaks "
            "SPDY/3.1+portforward.k8s.io (kubectl 1.31 and newer)",
        ),
        (
            "POST",
            f"{BASE}/placed/portforward",
            {
                "Connection": "Upgrade",
                "Upgrade": "SPDY/3.1",
                "X-Stream-Protocol-Version": "portforward.k8s.io.v2",
            },
            400,
            "unable to negotiate protocol: client supports ['portforward.k8s.io.v2'], "
            "server supports [portforward.k8s.io]",
        ),
        (
            "POST",
            f"{BASE}/placed/attach?container=c&stdout=true",
            {"Connection": "Upgrade", "Upgrade": "SPDY/3.1"},
            400,
            "kubesvc serves pods/attach over WebSocket (v5.channel.k8s.io) only, not SPDY/3.1; "
            "use kubectl 1.30 or newer without KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false",
        ),
        ("GET", f"{BASE}/placed/attach?container=c", {}, 400, "Upgrade request required"),
        (
            "GET",
            f"{BASE}/pending/attach?container=c&stdout=true",
            WEBSOCKET,
            400,
            "pod pending does not have a host assigned",
        ),
        (
            "GET",
            f"{BASE}/placed/attach?container=nope",
            WEBSOCKET,
            400,
            "container nope is not valid for pod placed",
        ),
        ("GET", f"{BASE}/placed/exec?command=true&container=c", WEBSOCKET, 404, 'nodes "ghost"'),
        ("DELETE", f"{BASE}/placed/portforward", {}, 405, "does not allow this method"),
    ],
)
def test_refused_before_the_upgrade(
    apiserver: ApiServer,
    pods: None,
    method: str,
    path: str,
    headers: dict[str, str],
    code: int,
    message: str,
) -> None:
    status, body = request(apiserver, method, path, headers)
    assert (status, body["kind"], body["code"]) == (code, "Status", code)
    assert message in body["message"]


def test_kubectl_prints_the_refusal(kubectl: Kubectl, pods: None) -> None:
    result = kubectl.run("port-forward", "pod/pending", "18099:80", check=False)
    assert result.returncode == 1
    assert "unable to forward port because pod is not running" in result.stderr
    attach = kubectl.run("attach", "pending", check=False)
    assert attach.returncode == 1
    assert "pod pending does not have a host assigned" in attach.stderr
