"""The official `kubernetes` Python client lists and watches Services on kubesvc."""

from __future__ import annotations

import threading

import pytest
from kubernetes import client, config, watch

from tests.conftest import ApiServer

pytestmark = pytest.mark.integration


def api(server: ApiServer) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(server.kubeconfig)))


def test_list_and_watch_services(apiserver: ApiServer) -> None:
    core = api(apiserver)
    listed = core.list_namespaced_service("default")
    assert "kubernetes" in [s.metadata.name for s in listed.items]
    rv = listed.metadata.resource_version
    assert rv.isdigit()

    body = client.V1Service(
        metadata=client.V1ObjectMeta(name="pyclient", labels={"via": "python"}),
        spec=client.V1ServiceSpec(
            selector={"app": "py"}, ports=[client.V1ServicePort(port=8080, name="web")]
        ),
    )
    seen: list[tuple[str, str]] = []
    done = threading.Event()

    def watcher() -> None:
        w = watch.Watch()
        for event in w.stream(
            core.list_namespaced_service,
            "default",
            resource_version=rv,
            label_selector="via=python",
            timeout_seconds=20,
        ):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                w.stop()
        done.set()

    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    created = core.create_namespaced_service("default", body)
    assert created.spec.cluster_ip and created.spec.ports[0].protocol == "TCP"
    core.patch_namespaced_service("pyclient", "default", {"metadata": {"labels": {"x": "y"}}})
    core.delete_namespaced_service("pyclient", "default")
    assert done.wait(20)
    assert seen == [("ADDED", "pyclient"), ("MODIFIED", "pyclient"), ("DELETED", "pyclient")]

    with pytest.raises(client.ApiException) as info:
        core.read_namespaced_service("pyclient", "default")
    assert info.value.status == 404
