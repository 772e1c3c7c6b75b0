"""API semantics clients rely on, over plain HTTP against a real `kubesvc apiserver`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ApiServer, start_apiserver

pytestmark = pytest.mark.integration


def url(server: ApiServer, path: str) -> str:
    return f"{server.url}{path}"


def wait_gone(server: ApiServer, path: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if requests.get(url(server, path), timeout=5).status_code == 404:
            return
        time.sleep(0.1)
    raise AssertionError(f"{path} still exists")


def post(server: ApiServer, path: str, body: dict[str, Any], **params: str) -> requests.Response:
    return requests.post(url(server, path), json=body, params=params, timeout=10)


def test_dry_run_allocates_nothing(apiserver: ApiServer) -> None:
    before = requests.get(url(apiserver, "/api/v1/services"), timeout=5).json()
    body = {"metadata": {"name": "dry"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    reply = post(apiserver, "/api/v1/namespaces/default/services", body, dryRun="All")
    assert reply.status_code == 201
    assert reply.json()["spec"]["clusterIP"].startswith("10.")
    assert (
        requests.get(
            url(apiserver, "/api/v1/namespaces/default/services/dry"), timeout=5
        ).status_code
        == 404
    )
    after = requests.get(url(apiserver, "/api/v1/services"), timeout=5).json()
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_limit_and_continue(apiserver: ApiServer) -> None:
    post(apiserver, "/api/v1/namespaces", {"metadata": {"name": "pages"}})
    for i in range(5):
        assert (
            post(
                apiserver,
                "/api/v1/namespaces/pages/configmaps",
                {"metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}},
            ).status_code
            == 201
        )
    names: list[str] = []
    token = ""
    pages = 0
    while True:
        params = {"limit": "2", **({"continue": token} if token else {})}
        body = requests.get(
            url(apiserver, "/api/v1/namespaces/pages/configmaps"), params=params, timeout=5
        ).json()
        names += [item["metadata"]["name"] for item in body["items"]]
        pages += 1
        token = body["metadata"].get("continue", "")
        if not token:
            break
    assert names == [f"cm-{i}" for i in range(5)] and pages == 3
    bad = requests.get(
        url(apiserver, "/api/v1/namespaces/pages/configmaps"), params={"continue": "%%%"}, timeout=5
    )
    assert bad.status_code == 400
    for params in ({"limit": "many"}, {"includeObject": "Everything"}):
        reply = requests.get(
            url(apiserver, "/api/v1/namespaces/pages/configmaps"),
            params=params,
            timeout=5,
            headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
        )
        assert reply.status_code == 400 and reply.json()["reason"] == "BadRequest"


def test_conflict_generate_name_and_selectors(apiserver: ApiServer) -> None:
    reply = post(
        apiserver,
        "/api/v1/namespaces/default/configmaps",
        {"metadata": {"generateName": "gen-", "labels": {"k": "v"}}},
    )
    assert reply.status_code == 201
    obj = reply.json()
    name = obj["metadata"]["name"]
    assert name.startswith("gen-") and len(name) == 9
    stale = dict(obj, data={"a": "1"})
    assert (
        requests.put(
            url(apiserver, f"/api/v1/namespaces/default/configmaps/{name}"), json=stale, timeout=5
        ).status_code
        == 200
    )
    reply = requests.put(
        url(apiserver, f"/api/v1/namespaces/default/configmaps/{name}"),
        json=dict(obj, data={"b": "2"}),
        timeout=5,
    )
    assert reply.status_code == 409
    assert reply.json()["message"] == (
        f'Operation cannot be fulfilled on configmaps "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    by_field = requests.get(
        url(apiserver, "/api/v1/namespaces/default/configmaps"),
        params={"fieldSelector": f"metadata.name={name}"},
        timeout=5,
    ).json()
    assert [i["metadata"]["name"] for i in by_field["items"]] == [name]
    bad = requests.get(
        url(apiserver, "/api/v1/namespaces/default/services"),
        params={"fieldSelector": "spec.nope=1"},
        timeout=5,
    )
    assert bad.status_code == 400 and bad.json()["reason"] == "BadRequest"
    missing_ns = post(apiserver, "/api/v1/namespaces/nope/configmaps", {"metadata": {"name": "x"}})
    assert missing_ns.status_code == 404
    assert missing_ns.json()["message"] == 'namespaces "nope" not found'


def test_status_subresource_is_separate(apiserver: ApiServer) -> None:
    base = "/api/v1/namespaces/default/services/stat"
    created = post(
        apiserver,
        "/api/v1/namespaces/default/services",
        {
            "metadata": {"name": "stat"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
        },
    ).json()
    assert created["status"] == {"loadBalancer": {}}  # clients do not set status on create
    lb = {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}
    reply = requests.put(url(apiserver, f"{base}/status"), json=dict(created, status=lb), timeout=5)
    assert reply.status_code == 200, reply.text
    lb["loadBalancer"]["ingress"][0]["ipMode"] = "VIP"  # defaulted, as upstream does
    assert reply.json()["status"] == lb
    main = dict(reply.json(), status={"loadBalancer": {}})
    main["metadata"]["labels"] = {"x": "y"}
    after = requests.put(url(apiserver, base), json=main, timeout=5).json()
    assert after["status"] == lb and after["metadata"]["labels"] == {"x": "y"}


def test_finalizers_and_propagation(apiserver: ApiServer) -> None:
    cm = "/api/v1/namespaces/default/configmaps"
    post(apiserver, cm, {"metadata": {"name": "held", "finalizers": ["example.com/keep"]}})
    reply = requests.delete(url(apiserver, f"{cm}/held"), timeout=5)
    assert reply.status_code == 202 and reply.json()["metadata"]["deletionTimestamp"]
    assert requests.get(url(apiserver, f"{cm}/held"), timeout=5).status_code == 200
    patch = requests.patch(
        url(apiserver, f"{cm}/held"),
        data=b'{"metadata":{"finalizers":null}}',
        headers={"Content-Type": "application/merge-patch+json"},
        timeout=5,
    )
    assert patch.status_code == 200
    wait_gone(apiserver, f"{cm}/held")

    def owner_and_dependent(tag: str) -> str:
        owner = post(apiserver, cm, {"metadata": {"name": f"owner-{tag}"}}).json()
        ref = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
        }
        post(apiserver, cm, {"metadata": {"name": f"dep-{tag}", "ownerReferences": [ref]}})
        return f"{cm}/owner-{tag}"

    for policy in ("Background", "Foreground"):
        owner = owner_and_dependent(policy.lower())
        requests.delete(url(apiserver, owner), json={"propagationPolicy": policy}, timeout=5)
        wait_gone(apiserver, owner)
        wait_gone(apiserver, f"{cm}/dep-{policy.lower()}")

    owner = owner_and_dependent("orphan")
    requests.delete(url(apiserver, owner), json={"propagationPolicy": "Orphan"}, timeout=5)
    wait_gone(apiserver, owner)
    dependent = requests.get(url(apiserver, f"{cm}/dep-orphan"), timeout=5).json()
    assert "ownerReferences" not in dependent["metadata"]


def test_namespace_deletion_empties_it_and_frees_addresses(apiserver: ApiServer) -> None:
    post(apiserver, "/api/v1/namespaces", {"metadata": {"name": "doomed"}})
    svc = post(
        apiserver,
        "/api/v1/namespaces/doomed/services",
        {"metadata": {"name": "s"}, "spec": {"clusterIP": "10.96.0.99", "ports": [{"port": 80}]}},
    )
    assert svc.status_code == 201
    reply = requests.delete(url(apiserver, "/api/v1/namespaces/doomed"), timeout=5)
    assert reply.json()["status"]["phase"] == "Terminating"
    refused = post(apiserver, "/api/v1/namespaces/doomed/configmaps", {"metadata": {"name": "x"}})
    assert refused.status_code == 403
    wait_gone(apiserver, "/api/v1/namespaces/doomed")
    again = post(
        apiserver,
        "/api/v1/namespaces/default/services",
        {
            "metadata": {"name": "reuses-99"},
            "spec": {"clusterIP": "10.96.0.99", "ports": [{"port": 80}]},
        },
    )
    assert again.status_code == 201


def watch_lines(server: ApiServer, path: str, **params: str) -> list[dict[str, Any]]:
    with requests.get(
        url(server, path), params={"watch": "true", **params}, stream=True, timeout=30
    ) as reply:
        assert reply.status_code == 200
        return [json.loads(line) for line in reply.iter_lines() if line]


def test_watch_initial_events_bookmark_and_expiry(tmp_path: Path) -> None:
    server = start_apiserver(tmp_path, "--store-history", "10")
    try:
        cm = "/api/v1/namespaces/default/configmaps"
        for i in range(30):
            post(server, cm, {"metadata": {"name": f"w{i}"}})
        events = watch_lines(
            server,
            cm,
            sendInitialEvents="true",
            allowWatchBookmarks="true",
            resourceVersionMatch="NotOlderThan",
            timeoutSeconds="1",
        )
        assert [e["type"] for e in events] == ["ADDED"] * 30 + ["BOOKMARK"]
        assert events[-1]["object"]["metadata"]["annotations"] == {
            "k8s.io/initial-events-end": "true"
        }
        expired = watch_lines(server, cm, resourceVersion="2", timeoutSeconds="2")
        assert [e["type"] for e in expired] == ["ERROR"]
        assert expired[0]["object"]["code"] == 410
        assert expired[0]["object"]["reason"] == "Expired"
        assert expired[0]["object"]["message"].startswith("too old resource version: 2")
    finally:
        server.stop()
