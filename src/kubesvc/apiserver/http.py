"""The HTTP face of the API server (aiohttp): routing, content negotiation, Status errors.

Every request is parsed into a `paths.Target`, decoded (JSON, YAML or, for the typed client's
Service writes, protobuf), checked for unknown fields per `fieldValidation`, and handed to the
registry. Replies are JSON; a client whose Accept asks for `as=Table` gets a server-side Table.
Any `StatusError` becomes a Kubernetes Status with its code; anything unexpected becomes a 500
Status, logged, never a traceback to the client.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from kubesvc.api import printers, schema
from kubesvc.api.errors import (
    StatusError,
    bad_request,
    internal_error,
    method_not_allowed,
    not_found_error,
    unsupported_media_type,
)
from kubesvc.api.protobuf import decode_object
from kubesvc.api.selectors import (
    convert_field_selector,
    parse_field_selector,
    parse_label_selector,
)
from kubesvc.apiserver import discovery
from kubesvc.apiserver.nodeproxy import proxy_attach, proxy_exec, proxy_log, proxy_portforward
from kubesvc.apiserver.paths import Target, parse
from kubesvc.apiserver.registry import Registry, Selectors
from kubesvc.apiserver.watch import serve_watch

log = logging.getLogger("kubesvc.apiserver")

STREAMS = {"exec": proxy_exec, "attach": proxy_attach, "portforward": proxy_portforward}
PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)


class Query:
    def __init__(self, query_string: str) -> None:
        self._values = parse_qs(query_string, keep_blank_values=True)

    def get(self, key: str, default: str = "") -> str:
        values = self._values.get(key)
        return values[0] if values else default

    def flag(self, key: str) -> bool:
        return self.get(key).lower() in ("true", "1")


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return web.Response(text=text, status=status, content_type="application/json", headers=headers)


def status_response(error: StatusError) -> web.Response:
    return json_response(error.to_status(), error.code, error.headers or None)


def wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def success_status(details: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


class ApiHandler:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # ----------------------------------------------------------------- entry

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except StatusError as error:
            return status_response(error)
        except web.HTTPException:
            raise
        except Exception as exc:  # the one place that turns surprises into a 500 Status
            log.exception("internal error on %s %s", request.method, request.path)
            return status_response(internal_error(f"{type(exc).__name__}: {exc}"))

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        fixed = self._fixed(path, request)
        if fixed is not None:
            return fixed
        target = parse(path)
        if target is None or (
            target.resource.namespaced and target.namespace is None and target.name
        ):
            return web.Response(status=404, text="404 page not found\n")
        query = Query(request.query_string)
        if target.subresource == "scale":
            return await self._scale(request, target, query)
        if target.subresource == "binding":
            return await self._bind(request, target, query)
        if target.subresource in STREAMS:
            if request.method not in ("GET", "POST") or target.name is None:
                raise method_not_allowed()
            return await STREAMS[target.subresource](request, self.registry, target, query)
        if target.subresource == "log":
            if request.method != "GET" or target.name is None:
                raise method_not_allowed()
            return await proxy_log(request, self.registry, target, query)
        method = request.method
        if method != "GET" and "create" not in target.resource.verbs:
            raise method_not_allowed()  # a read-only resource (the allocation table)
        if target.name is None:
            if method == "GET":
                return await self._list(request, target, query)
            if method == "POST":
                return await self._create(request, target, query)
            if method == "DELETE":
                return await self._delete_collection(request, target, query)
            raise method_not_allowed()
        if method == "GET":
            obj = await self.registry.get(target.resource, target.namespace, target.name)
            return self._object_response(request, target, obj, query)
        if method == "PUT":
            return await self._update(request, target, query)
        if method == "PATCH":
            return await self._patch(request, target, query)
        if method == "DELETE":
            return await self._delete(request, target, query)
        raise method_not_allowed()

    def _fixed(self, path: str, request: web.Request) -> web.StreamResponse | None:
        accept = request.headers.get("Accept", "")
        aggregated = "as=APIGroupDiscoveryList" in accept
        if path == "/version":
            return json_response(discovery.VERSION_INFO)
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path in ("/api", "/apis") and aggregated:
            agg = discovery.aggregated(core=path == "/api")
            return web.Response(
                body=json.dumps(agg).encode(),
                headers={"Content-Type": discovery.AGGREGATED_CONTENT_TYPE},
            )
        if path == "/api":
            return json_response(discovery.api_versions())
        if path == "/apis":
            return json_response(discovery.api_group_list())
        if path == "/api/v1":
            return json_response(discovery.resource_list(""))
        parts = path.strip("/").split("/")
        if parts[0] == "apis" and len(parts) in (2, 3):
            if len(parts) == 2:
                group_doc: dict[str, Any] | None = discovery.api_group(parts[1])
            else:
                group_doc = discovery.resource_list(parts[1]) if parts[2] == "v1" else None
            if group_doc is None:
                return web.Response(status=404, text="404 page not found\n")
            return json_response(group_doc)
        if path == "/openapi/v3":
            return json_response(discovery.openapi_index())
        if path.startswith("/openapi/v3/"):
            rel = path.removeprefix("/openapi/v3/")
            group = "" if rel == "api/v1" else rel.removeprefix("apis/").removesuffix("/v1")
            doc: dict[str, Any] | None = (
                discovery.openapi_document(group) if rel.endswith("v1") else None
            )
            if doc is None:
                return web.Response(status=404, text="404 page not found\n")
            return json_response(doc)
        if path.startswith("/openapi/"):
            return web.Response(status=404, text="404 page not found\n")
        return None

    # ----------------------------------------------------------------- bodies

    async def _body(
        self, request: web.Request, target: Target, query: Query
    ) -> tuple[Any, list[str]]:
        """Decode a create/update body; returns the object and warnings to send."""
        raw = await request.read()
        ctype = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
        kind, api_version = self._decoded_as(target)
        if ctype == "application/vnd.kubernetes.protobuf":
            try:
                obj: Any = decode_object(raw)
            except ValueError as exc:
                raise bad_request(f"unable to decode protobuf body: {exc}") from None
            result = schema.check_object(kind, api_version, obj)
        elif ctype in (
            "application/json",
            "",
            "*/*",
            "text/plain",
            "application/yaml",
            "application/x-yaml",
        ):
            obj, result = schema.decode_body(kind, api_version, raw, ctype or "application/json")
        else:
            raise unsupported_media_type(ctype)
        warnings = self._judge(kind, api_version, result, query, raw)
        if not isinstance(obj, dict):
            raise bad_request(
                f"the object provided is unrecognized (must be of type {kind}): "
                "the body must be a JSON object"
            )
        return obj, warnings

    @staticmethod
    def _decoded_as(target: Target) -> tuple[str, str]:
        if target.subresource == "scale":
            return "Scale", "autoscaling/v1"
        return target.resource.kind, target.resource.api_version

    @staticmethod
    def _judge(
        kind: str, api_version: str, result: schema.DecodeResult, query: Query, raw: bytes = b""
    ) -> list[str]:
        """Decode errors are always 400; unknown/duplicate fields per fieldValidation."""
        fatal = schema.format_decode_error(kind, api_version, result, raw)
        if fatal:
            raise bad_request(fatal)
        mode = query.get("fieldValidation", "Warn") or "Warn"
        if mode == "Strict":
            message = schema.format_strict_error(kind, api_version, result, raw)
            if message:
                raise bad_request(message)
            return []
        if mode == "Warn":
            return schema.warnings(result)
        return []

    def inspect(self, target: Target, obj: dict[str, Any], query: Query) -> list[str]:
        """Strict checks of a patched object (Go re-encodes it, so keys come sorted)."""
        kind, api_version = self._decoded_as(target)
        result = schema.check_object(kind, api_version, obj, sort_keys=True)
        return self._judge(kind, api_version, result, query)

    @staticmethod
    def _warning_headers(warnings: list[str]) -> dict[str, str]:
        if not warnings:
            return {}
        quoted = [json.dumps(w) for w in warnings]
        return {"Warning": ", ".join(f"299 - {q}" for q in quoted)}

    # ----------------------------------------------------------------- verbs

    def _object_response(
        self,
        request: web.Request,
        target: Target,
        obj: dict[str, Any],
        query: Query,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        if wants_table(request) and status == 200:
            rv = str(obj.get("metadata", {}).get("resourceVersion", ""))
            return json_response(table(target, [obj], query, rv), headers=headers)
        return json_response(obj, status, headers)

    def _selectors(self, target: Target, query: Query) -> Selectors:
        labels = fields = None
        try:
            if query.get("labelSelector"):
                labels = parse_label_selector(query.get("labelSelector"))
            if query.get("fieldSelector"):
                fields = convert_field_selector(
                    target.resource.kind, parse_field_selector(query.get("fieldSelector"))
                )
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        return Selectors(labels, fields)

    async def _list(self, request: web.Request, target: Target, query: Query) -> web.StreamResponse:
        selectors = self._selectors(target, query)
        if query.flag("watch"):
            return await serve_watch(request, self.registry, target, query, selectors)
        limit_text = query.get("limit") or "0"
        if not limit_text.isdigit():
            raise bad_request(f"invalid limit: {limit_text!r} is not a non-negative integer")
        limit = int(limit_text) or None
        start_after, pinned_rv = decode_continue(query.get("continue"))
        items, revision, last = await self.registry.list(
            target.resource, target.namespace, selectors, limit=limit, start_after=start_after
        )
        rv = pinned_rv or revision
        token = encode_continue(last, rv) if last else ""
        res = target.resource
        if wants_table(request):
            return json_response(table(target, items, query, str(rv), token))
        for item in items:
            item.pop("apiVersion", None)
            item.pop("kind", None)
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if token:
            meta["continue"] = token
        return json_response(
            {"kind": res.list_kind, "apiVersion": res.api_version, "metadata": meta, "items": items}
        )

    async def _create(self, request: web.Request, target: Target, query: Query) -> web.Response:
        obj, warnings = await self._body(request, target, query)
        dry_run = query.get("dryRun") == "All"
        created = await self.registry.create(
            target.resource, target.namespace, obj, dry_run=dry_run
        )
        return self._object_response(
            request, target, created, query, 201, self._warning_headers(warnings)
        )

    async def _update(self, request: web.Request, target: Target, query: Query) -> web.Response:
        assert target.name is not None
        if target.subresource == "finalize":
            obj, warnings = await self._body(request, target, query)
            return await self._finalize(request, target, obj, query)
        obj, warnings = await self._body(request, target, query)
        updated = await self.registry.update(
            target.resource,
            target.namespace,
            target.name,
            obj,
            subresource=target.subresource,
            dry_run=query.get("dryRun") == "All",
        )
        return self._object_response(
            request, target, updated, query, headers=self._warning_headers(warnings)
        )

    async def _finalize(
        self, request: web.Request, target: Target, obj: dict[str, Any], query: Query
    ) -> web.Response:
        assert target.name is not None
        current = await self.registry.get(target.resource, None, target.name)
        current["spec"] = {"finalizers": list((obj.get("spec") or {}).get("finalizers") or [])}
        updated = await self.registry.update(
            target.resource, None, target.name, current, subresource="finalize"
        )
        return self._object_response(request, target, updated, query)

    async def _patch(self, request: web.Request, target: Target, query: Query) -> web.Response:
        assert target.name is not None
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
        if ctype == "application/apply-patch+yaml":
            raise unsupported_media_type(ctype)
        if ctype not in PATCH_TYPES:
            raise unsupported_media_type(ctype)
        body = await request.read()
        warnings: list[str] = []

        def check(obj: dict[str, Any]) -> None:
            warnings.extend(self.inspect(target, obj, query))

        updated = await self.registry.update(
            target.resource,
            target.namespace,
            target.name,
            patch=(ctype, body),
            subresource=target.subresource,
            dry_run=query.get("dryRun") == "All",
            inspect=check,
        )
        return self._object_response(
            request, target, updated, query, headers=self._warning_headers(warnings)
        )

    async def _delete_options(self, request: web.Request, query: Query) -> dict[str, Any]:
        raw = await request.read()
        options: dict[str, Any] = {}
        if raw.strip():
            try:
                parsed = json.loads(raw)
            except ValueError as exc:
                raise bad_request(f"invalid DeleteOptions: {exc}") from None
            if not isinstance(parsed, dict):
                raise bad_request("invalid DeleteOptions: the body must be a JSON object")
            options = parsed
        if query.get("propagationPolicy"):
            options["propagationPolicy"] = query.get("propagationPolicy")
        if query.get("gracePeriodSeconds"):
            options["gracePeriodSeconds"] = query.get("gracePeriodSeconds")
        policy = options.get("propagationPolicy")
        if policy not in (None, "Orphan", "Foreground", "Background"):
            raise bad_request(
                f'propagationPolicy: Unsupported value: "{policy}": supported values: '
                '"Foreground", "Background", "Orphan"'
            )
        return options

    async def _delete(self, request: web.Request, target: Target, query: Query) -> web.Response:
        assert target.name is not None
        options = await self._delete_options(request, query)
        obj, gone = await self.registry.delete(
            target.resource,
            target.namespace,
            target.name,
            options,
            dry_run=query.get("dryRun") == "All",
        )
        return json_response(obj, 200 if gone else 202)

    async def _delete_collection(
        self, request: web.Request, target: Target, query: Query
    ) -> web.Response:
        options = await self._delete_options(request, query)
        selectors = self._selectors(target, query)
        items, revision, _ = await self.registry.list(target.resource, target.namespace, selectors)
        deleted = []
        for item in items:
            meta = item["metadata"]
            try:
                obj, _gone = await self.registry.delete(
                    target.resource,
                    meta.get("namespace"),
                    meta["name"],
                    options,
                    dry_run=query.get("dryRun") == "All",
                )
            except StatusError as exc:
                if exc.code == 404:
                    continue
                raise
            obj.pop("apiVersion", None)
            obj.pop("kind", None)
            deleted.append(obj)
        res = target.resource
        return json_response(
            {
                "kind": res.list_kind,
                "apiVersion": res.api_version,
                "metadata": {"resourceVersion": str(revision)},
                "items": deleted,
            }
        )

    async def _bind(self, request: web.Request, target: Target, query: Query) -> web.Response:
        if request.method != "POST" or target.name is None:
            raise method_not_allowed()
        raw = await request.read()
        binding, result = schema.decode_body("Binding", "v1", raw)
        self._judge("Binding", "v1", result, query, raw)
        if not isinstance(binding, dict):
            raise bad_request("the body of the request must be a v1 Binding object")
        await self.registry.bind(target.resource, target.namespace, target.name, binding)
        return json_response(success_status({}), 201)

    async def _scale(self, request: web.Request, target: Target, query: Query) -> web.Response:
        res, ns, name = target.resource, target.namespace, target.name
        if name is None:
            raise not_found_error(res.plural, res.group, "")
        dry_run = query.get("dryRun") == "All"
        if request.method == "GET":
            scale = await self.registry.get_scale(res, ns, name)
        elif request.method == "PUT":
            obj, _ = await self._body(request, target, query)
            scale = await self.registry.update_scale(res, ns, name, obj, dry_run=dry_run)
        elif request.method == "PATCH":
            ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
            if ctype not in PATCH_TYPES:
                raise unsupported_media_type(ctype)
            scale = await self.registry.update_scale(
                res, ns, name, patch=(ctype, await request.read()), dry_run=dry_run
            )
        else:
            raise method_not_allowed()
        return json_response(scale)


def table(
    target: Target, objs: list[dict[str, Any]], query: Query, rv: str, token: str = ""
) -> dict[str, Any]:
    """The server-side Table kubectl asked for; a bad includeObject is the client's error."""
    try:
        return printers.to_table(
            target.resource.kind,
            objs,
            now=datetime.now(UTC),
            include_object=query.get("includeObject", "Metadata") or "Metadata",
            resource_version=rv,
            continue_token=token,
        )
    except ValueError as exc:
        raise bad_request(str(exc)) from None


def encode_continue(key: str, revision: int) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": key}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[str | None, int]:
    if not token:
        return None, 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(data["start"]), int(data["rv"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion "
            "(version meta.k8s.io/v1)"
        ) from None


def build_app(registry: Registry) -> web.Application:
    handler = ApiHandler(registry)
    app = web.Application(client_max_size=8 * 1024 * 1024, handler_args={})
    app.router.add_route("*", "/{tail:.*}", handler.handle)
    app["handler"] = handler
    return app
