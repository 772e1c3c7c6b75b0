"""The client layer against a real API server: REST calls, watch, informer cache and indexes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from kubesvc.api.errors import StatusError
from kubesvc.api.resources import lookup
from kubesvc.client import Client, Informer
from tests.conftest import ApiServer, start_apiserver

pytestmark = pytest.mark.integration

SERVICES = lookup("", "services")
CONFIGMAPS = lookup("", "configmaps")
assert SERVICES is not None and CONFIGMAPS is not None


def svc(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"via": "client"}},
        "spec": {"ports": [{"port": 80}], "selector": {"app": name}},
    }


async def eventually(check: Any, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def test_rest_calls_and_errors(apiserver: ApiServer) -> None:
    async def scenario() -> None:
        async with Client.from_kubeconfig(apiserver.kubeconfig) as client:
            created = await client.create(SERVICES, "default", svc("c-rest"))
            assert created["spec"]["clusterIP"]
            with pytest.raises(StatusError) as info:
                await client.create(SERVICES, "default", svc("c-rest"))
            assert info.value.code == 409 and info.value.reason == "AlreadyExists"
            patched = await client.patch(
                SERVICES, "default", "c-rest", {"metadata": {"labels": {"x": "1"}}}
            )
            assert patched["metadata"]["labels"]["x"] == "1"
            listed = await client.list(SERVICES, "default", label_selector="x=1")
            assert [i["metadata"]["name"] for i in listed["items"]] == ["c-rest"]
            assert listed["items"][0]["kind"] == "Service"
            await client.delete(SERVICES, "default", "c-rest")
            with pytest.raises(StatusError) as info:
                await client.get(SERVICES, "default", "c-rest")
            assert info.value.code == 404

    asyncio.run(scenario())


def test_informer_cache_indexes_and_handlers(apiserver: ApiServer) -> None:
    async def scenario() -> None:
        async with Client.from_kubeconfig(apiserver.kubeconfig) as client:
            informer = Informer(
                client,
                SERVICES,
                "default",
                label_selector="via=client",
                indexers={"clusterIP": lambda o: [o["spec"].get("clusterIP", "")]},
            )
            seen: list[tuple[str, str]] = []

            def handler(old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
                kind = "add" if old is None else "delete" if new is None else "update"
                seen.append((kind, (new or old or {})["metadata"]["name"]))

            informer.add_handler(handler)
            await client.create(SERVICES, "default", svc("inf-a"))
            task = asyncio.create_task(informer.run())
            try:
                await asyncio.wait_for(informer.wait_synced(), 10)
                assert informer.has_synced()
                b = await client.create(SERVICES, "default", svc("inf-b"))
                await client.patch(
                    SERVICES, "default", "inf-b", {"metadata": {"annotations": {"n": "1"}}}
                )
                await client.delete(SERVICES, "default", "inf-a")
                await eventually(lambda: len(seen) >= 4)
                assert seen == [
                    ("add", "inf-a"),
                    ("add", "inf-b"),
                    ("update", "inf-b"),
                    ("delete", "inf-a"),
                ]
                ip = b["spec"]["clusterIP"]
                assert [
                    o["metadata"]["name"] for o in informer.cache.by_index("clusterIP", ip)
                ] == ["inf-b"]
                assert informer.cache.get("default/inf-a") is None
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            # a relist reports only what changed while nobody watched
            await client.delete(SERVICES, "default", "inf-b")
            await client.create(SERVICES, "default", svc("inf-c"))
            seen.clear()
            await informer.relist()
            assert sorted(seen) == [("add", "inf-c"), ("delete", "inf-b")]
            assert informer.cache.by_index("clusterIP", ip) == []
            await client.delete(SERVICES, "default", "inf-c")

    asyncio.run(scenario())


def test_binding_assigns_a_pod_once(apiserver: ApiServer) -> None:
    pods = lookup("", "pods")
    assert pods is not None

    async def scenario() -> None:
        async with Client.from_kubeconfig(apiserver.kubeconfig) as client:
            pod = {
                "metadata": {"name": "bindme"},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            }
            await client.create(pods, "default", pod)
            await client.bind("default", "bindme", "node-1")
            bound = await client.get(pods, "default", "bindme")
            assert bound["spec"]["nodeName"] == "node-1"
            scheduled = [c for c in bound["status"]["conditions"] if c["type"] == "PodScheduled"]
            assert scheduled[0]["status"] == "True"
            with pytest.raises(StatusError) as info:
                await client.bind("default", "bindme", "node-2")
            assert info.value.code == 409
            assert info.value.message == (
                'Operation cannot be fulfilled on pods/binding "bindme": '
                'pod bindme is already assigned to node "node-1"'
            )
            await client.delete(pods, "default", "bindme")

    asyncio.run(scenario())


def test_watch_from_a_compacted_revision_is_410(tmp_path: Path) -> None:
    server = start_apiserver(tmp_path, "--store-history", "5")

    async def scenario() -> None:
        async with Client(server.url) as client:
            for i in range(20):
                await client.create(CONFIGMAPS, "default", {"metadata": {"name": f"cm{i}"}})
            with pytest.raises(StatusError) as info:
                async for _ in client.watch(CONFIGMAPS, "default", "1", timeout_seconds=2):
                    pass
            assert info.value.code == 410

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
