"""Strict decoding: unknown, duplicate and mistyped fields, worded as kube-apiserver 1.32 does.

Expected texts come from upstream: test/integration/apiserver/field_validation_test.go (strict
and YAML messages), error reports quoting real servers (`Deployment in version "v1" cannot be
handled as a Deployment: json: cannot unmarshal number into Go struct field EnvVar.spec.template.
spec.containers.env.value of type string`), and Go's encoding/json, time and base64 packages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubesvc.api import schema_go
from kubesvc.api.schema import (
    DecodeResult,
    check_object,
    decode_body,
    format_decode_error,
    format_strict_error,
    parse_json_strict,
    parse_yaml_or_json,
    warnings,
)
from kubesvc.api.schema_kinds import SCHEMAS
from kubesvc.api.schema_types import ListOf, MapOf, Scalar, Special, Struct, Type

ROOT = Path(__file__).resolve().parents[3]
SHARED_SEEDS = Path("/work/shared/seeds")

SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}
DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
INGRESS = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"}}
SVC_PREFIX = 'Service in version "v1" cannot be handled as a Service: '
DEPLOY_PREFIX = 'Deployment in version "v1" cannot be handled as a Deployment: '
QUANTITY_FORMAT = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)


def _body(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _service(spec: dict[str, Any]) -> dict[str, Any]:
    return {**SVC, "spec": spec}


def _deployment(container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}}
    selector = {"matchLabels": {"app": "web"}}
    return {**DEPLOY, "spec": {"selector": selector, "template": template, **spec}}


def _go(what: str, field: str, go_type: str) -> str:
    """encoding/json's UnmarshalTypeError text."""
    return f"json: cannot unmarshal {what} into Go struct field {field} of type {go_type}"


def _strict(
    kind: str, api_version: str, body: bytes, ctype: str = "application/json"
) -> str | None:
    result = decode_body(kind, api_version, body, ctype)[1]
    return format_strict_error(kind, api_version, result, body)


# ---- unknown fields --------------------------------------------------------------------------

CONTAINERS = "spec.template.spec.containers"
UNKNOWN_CASES = [
    ("v1", "Service", _service({"portz": [{"port": 80}]}), ["spec.portz"]),
    (
        "v1",
        "Service",
        _service({"ports": [{"port": 80}, {"nmae": "x", "port": 81}]}),
        ["spec.ports[1].nmae"],
    ),
    ("v1", "Service", {**SVC, "Spec": {}}, ["Spec"]),
    ("v1", "Service", {**SVC, "metadata": {"name": "a", "labelz": {}}}, ["metadata.labelz"]),
    (
        "v1",
        "Service",
        _service({"sessionAffinityConfig": {"clientIP": {"timeout": 5}}}),
        ["spec.sessionAffinityConfig.clientIP.timeout"],
    ),
    (
        "v1",
        "Service",
        {**SVC, "status": {"loadBalancer": {"ingres": []}}},
        ["status.loadBalancer.ingres"],
    ),
    (
        "apps/v1",
        "Deployment",
        _deployment({"name": "c", "image": "nginx", "portz": [{"containerPort": 80}]}),
        [f"{CONTAINERS}[0].portz"],
    ),
    (
        "apps/v1",
        "Deployment",
        _deployment({"name": "c", "imagee": "nginx", "ports": [{"containerport": 80}]}),
        [f"{CONTAINERS}[0].imagee", f"{CONTAINERS}[0].ports[0].containerport"],
    ),
    (
        "apps/v1",
        "Deployment",
        _deployment({"name": "c"}, strategy={"rollingUpdate": {"maxsurge": 1}}),
        ["spec.strategy.rollingUpdate.maxsurge"],
    ),
    (
        "apps/v1",
        "Deployment",
        _deployment({"name": "c", "livenessProbe": {"httpGet": {"port": 80, "paht": "/"}}}),
        [f"{CONTAINERS}[0].livenessProbe.httpGet.paht"],
    ),
    (
        "networking.k8s.io/v1",
        "Ingress",
        {
            **INGRESS,
            "spec": {
                "tls": [{"host": "a"}],
                "rules": [
                    {
                        "host": "a.example",
                        "http": {
                            "paths": [
                                {"path": "/", "backend": {"serviceName": "web", "servicePort": 80}}
                            ]
                        },
                    },
                    {"https": {}},
                ],
            },
        },
        [
            "spec.tls[0].host",
            "spec.rules[0].http.paths[0].backend.serviceName",
            "spec.rules[0].http.paths[0].backend.servicePort",
            "spec.rules[1].https",
        ],
    ),
]


@pytest.mark.parametrize(("api_version", "kind", "obj", "unknown"), UNKNOWN_CASES)
def test_unknown_fields_at_every_depth(
    api_version: str, kind: str, obj: Any, unknown: list[str]
) -> None:
    _, result = decode_body(kind, api_version, _body(obj))
    assert result.unknown == unknown
    assert result.strict_errors == [f'unknown field "{path}"' for path in unknown]
    assert warnings(result) == result.strict_errors
    assert check_object(kind, api_version, obj).unknown == unknown
    assert format_decode_error(kind, api_version, result) is None


def test_service_strict_message_matches_the_real_server() -> None:
    body = _body(_service({"portz": 80}))
    assert _strict("Service", "v1", body) == (
        SVC_PREFIX + 'strict decoding error: unknown field "spec.portz"'
    )
    assert warnings(decode_body("Service", "v1", body)[1]) == ['unknown field "spec.portz"']


# The request bodies of upstream's TestFieldValidation (field_validation_test.go).
UPSTREAM_JSON = b"""{
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "dupename", "name": "test", "labels": {"app": "nginx"},
               "unknownMeta": "metaVal"},
  "spec": {
    "unknown1": "val1", "unknownDupe": "valDupe", "unknownDupe": "valDupe2",
    "paused": true, "paused": false,
    "selector": {"matchLabels": {"app": "nginx"}},
    "template": {"metadata": {"labels": {"app": "nginx"}},
      "spec": {"containers": [{"name": "nginx", "image": "nginx:latest", "unknownNested": "val1",
                               "imagePullPolicy": "Always", "imagePullPolicy": "Never"}]}}}}"""

UPSTREAM_YAML = b"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: dupename
  name: test
  unknownMeta: metaVal
  labels:
    app: nginx
spec:
  unknown1: val1
  unknownDupe: valDupe
  unknownDupe: valDupe2
  paused: true
  paused: false
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:latest
        unknownNested: val1
        imagePullPolicy: Always
        imagePullPolicy: Never"""


def test_upstream_json_body_strict_and_warn() -> None:
    _, result = decode_body("Deployment", "apps/v1", UPSTREAM_JSON)
    assert format_strict_error("Deployment", "apps/v1", result) == (
        DEPLOY_PREFIX + "strict decoding error: "
        'duplicate field "metadata.name", unknown field "metadata.unknownMeta", '
        'unknown field "spec.unknown1", unknown field "spec.unknownDupe", '
        'duplicate field "spec.paused", '
        'unknown field "spec.template.spec.containers[0].unknownNested", '
        'duplicate field "spec.template.spec.containers[0].imagePullPolicy"'
    )
    assert result.duplicate == [
        "metadata.name",
        "spec.paused",
        "spec.template.spec.containers[0].imagePullPolicy",
    ]
    assert len(warnings(result)) == 7
    assert format_decode_error("Deployment", "apps/v1", result) is None  # Warn/Ignore: no 400


def test_upstream_yaml_body_strict_and_warn() -> None:
    value, result = decode_body("Deployment", "apps/v1", UPSTREAM_YAML, "application/yaml")
    assert value["spec"]["paused"] is False  # the last duplicate wins, as in Go
    assert _strict("Deployment", "apps/v1", UPSTREAM_YAML, "application/yaml") == (
        DEPLOY_PREFIX + "strict decoding error: yaml: unmarshal errors:\n"
        '  line 5: key "name" already set in map\n'
        '  line 12: key "unknownDupe" already set in map\n'
        '  line 14: key "paused" already set in map\n'
        '  line 28: key "imagePullPolicy" already set in map, '
        'unknown field "metadata.unknownMeta", '
        'unknown field "spec.template.spec.containers[0].unknownNested", '
        'unknown field "spec.unknown1", unknown field "spec.unknownDupe"'
    )
    assert warnings(result) == [
        'line 5: key "name" already set in map',
        'line 12: key "unknownDupe" already set in map',
        'line 14: key "paused" already set in map',
        'line 28: key "imagePullPolicy" already set in map',
        'unknown field "metadata.unknownMeta"',
        'unknown field "spec.template.spec.containers[0].unknownNested"',
        'unknown field "spec.unknown1"',
        'unknown field "spec.unknownDupe"',
    ]


def test_patched_object_reports_patch_duplicates_then_sorted_unknowns() -> None:
    """Upstream's merge-patch case: body duplicates first, then the patched object's unknowns."""
    patch = b"""{"spec": {"unknown1": "val1", "unknownDupe": "valDupe", "unknownDupe": "valDupe2",
      "paused": true, "paused": false, "template": {"spec": {"containers": [{"name": "nginx",
      "image": "nginx:latest", "unknownNested": "val1", "imagePullPolicy": "Always",
      "imagePullPolicy": "Never"}]}}}}"""
    merged, duplicates = parse_json_strict(patch)
    obj = _deployment({"name": "nginx"})
    obj["spec"].update(merged["spec"])
    result = check_object("Deployment", "apps/v1", obj, duplicates=duplicates, sort_keys=True)
    assert result.strict_errors == [
        'duplicate field "spec.unknownDupe"',
        'duplicate field "spec.paused"',
        'duplicate field "spec.template.spec.containers[0].imagePullPolicy"',
        'unknown field "spec.template.spec.containers[0].unknownNested"',
        'unknown field "spec.unknown1"',
        'unknown field "spec.unknownDupe"',
    ]


# ---- duplicates ------------------------------------------------------------------------------

DUPLICATE_CASES = [
    (b'{"spec": {"replicas": 1, "replicas": 2}}', ["spec.replicas"]),
    (b'{"metadata": {"labels": {"app": "a", "app": "b"}}}', ["metadata.labels.app"]),
    (b'{"s": {"c": [{"name": "a", "name": "b"}]}}', ["s.c[0].name"]),
    (b'{"a": 1, "a": 2, "a": 3}', ["a"]),
    (b'[{"x": 1, "x": 1}, {"y": {"z": 0, "z": 0}}]', ["[0].x", "[1].y.z"]),
    (b'{"a": {"b": 1, "b": 2}, "a": {"c": 1}}', ["a.b", "a"]),
]


@pytest.mark.parametrize(("body", "paths"), DUPLICATE_CASES)
def test_parse_json_strict_reports_duplicate_paths(body: bytes, paths: list[str]) -> None:
    assert parse_json_strict(body)[1] == paths


def test_typed_duplicates_and_unknown_duplicates() -> None:
    body = b"""{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a",
      "labels": {"app": "x", "app": "y"}},
      "spec": {"replicas": 1, "replicas": 2, "zz": 1, "zz": 2}}"""
    value, result = decode_body("Deployment", "apps/v1", body)
    assert value["spec"]["replicas"] == 2
    assert result.strict_errors == [
        'duplicate field "metadata.labels.app"',
        'duplicate field "spec.replicas"',
        'unknown field "spec.zz"',  # a duplicated unknown field is only reported as unknown
    ]


def test_strict_errors_are_capped_at_100() -> None:
    body = _body(_service({f"f{i}": i for i in range(150)}))
    result = decode_body("Service", "v1", body)[1]
    assert len(result.strict_errors) == 100
    assert len(result.unknown) == 150


# ---- type errors -----------------------------------------------------------------------------

PORT = "ServicePort.spec.ports.port"
TARGET = "ServicePort.spec.ports.targetPort"
TIME_LAYOUT = '"2006-01-02T15:04:05Z07:00"'
SERVICE_TYPE_CASES = [
    ('{"ports":[{"port":"80"}]}', _go("string", PORT, "int32")),
    ('{"ports":[{"port":70000000000}]}', _go("number 70000000000", PORT, "int32")),
    ('{"ports":[{"port":80.5}]}', _go("number 80.5", PORT, "int32")),
    ('{"ports":[{"port":1e2}]}', _go("number 1e2", PORT, "int32")),
    (
        '{"ports":[{"port":80,"protocol":6}]}',
        _go("number", "ServicePort.spec.ports.protocol", "v1.Protocol"),
    ),
    ('{"ports":{"port":80}}', _go("object", "ServiceSpec.spec.ports", "[]v1.ServicePort")),
    ('{"ports":["x"]}', _go("string", "ServiceSpec.spec.ports", "v1.ServicePort")),
    ('{"selector":["app"]}', _go("array", "ServiceSpec.spec.selector", "map[string]string")),
    ('{"selector":{"app":1}}', _go("number", "ServiceSpec.spec.selector", "string")),
    ('{"clusterIPs":"None"}', _go("string", "ServiceSpec.spec.clusterIPs", "[]string")),
    ('{"ipFamilies":[4]}', _go("number", "ServiceSpec.spec.ipFamilies", "v1.IPFamily")),
    (
        '{"publishNotReadyAddresses":"true"}',
        _go("string", "ServiceSpec.spec.publishNotReadyAddresses", "bool"),
    ),
    ('{"ports":[{"port":80,"targetPort":true}]}', _go("bool", TARGET, "int32")),
    ('{"ports":[{"port":80,"targetPort":8080.5}]}', _go("number 8080.5", TARGET, "int32")),
    ('{"ports":[{"port":80,"targetPort":{}}]}', _go("object", TARGET, "int32")),
    # The first error wins ...
    ('{"ports":[{"port":"a"},{"port":"b"}]}', _go("string", PORT, "int32")),
    # ... unless a later UnmarshalJSON fails: that error stops decoding and replaces it.
    ('{"ports":[{"port":"a","targetPort":[]}]}', _go("array", TARGET, "int32")),
]
META_TYPE_CASES = [
    ('"x"', _go("string", "Service.spec", "v1.ServiceSpec")),
    ('{"labels":{"a":true}}', _go("bool", "ObjectMeta.metadata.labels", "string")),
    ('{"generation":"1"}', _go("string", "ObjectMeta.metadata.generation", "int64")),
    ('{"uid":1}', _go("number", "ObjectMeta.metadata.uid", "types.UID")),
    ('{"creationTimestamp":5}', _go("number", "ObjectMeta.metadata.creationTimestamp", "string")),
    (
        '{"creationTimestamp":"yesterday"}',
        f'parsing time "yesterday" as {TIME_LAYOUT}: cannot parse "yesterday" as "2006"',
    ),
    (
        '{"creationTimestamp":"2024-02-30T00:00:00Z"}',
        'parsing time "2024-02-30T00:00:00Z": day out of range',
    ),
]


@pytest.mark.parametrize(("spec", "message"), SERVICE_TYPE_CASES)
def test_service_type_errors(spec: str, message: str) -> None:
    body = b'{"apiVersion":"v1","kind":"Service","metadata":{},"spec":' + spec.encode() + b"}"
    _, result = decode_body("Service", "v1", body)
    assert result.type_errors[0] == message
    # a 400 whatever fieldValidation says
    assert format_strict_error("Service", "v1", result) == SVC_PREFIX + message
    assert format_decode_error("Service", "v1", result) == SVC_PREFIX + message


@pytest.mark.parametrize(("value", "message"), META_TYPE_CASES)
def test_metadata_and_top_level_type_errors(value: str, message: str) -> None:
    field = "spec" if value == '"x"' else "metadata"
    body = b'{"apiVersion":"v1","kind":"Service","' + field.encode() + b'":' + value.encode() + b"}"
    assert _strict("Service", "v1", body) == SVC_PREFIX + message


ENV = "EnvVar.spec.template.spec.containers.env.value"
DEPLOY_TYPE_CASES = [
    ({"name": "c", "env": [{"name": "N", "value": 5}]}, {}, _go("number", ENV, "string")),
    ({"name": "c", "env": [{"name": "N", "value": False}]}, {}, _go("bool", ENV, "string")),
    ({"name": "c"}, {"replicas": "3"}, _go("string", "DeploymentSpec.spec.replicas", "int32")),
    (
        {"name": "c"},
        {"strategy": {"rollingUpdate": {"maxSurge": True}}},
        _go("bool", "RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge", "int32"),
    ),
    ({"name": "c", "resources": {"limits": {"cpu": "lots"}}}, {}, QUANTITY_FORMAT),
    (
        {"name": "c", "resources": {"requests": {"memory": "1ki"}}},
        {},
        "unable to parse quantity's suffix",
    ),
    ({"name": "c", "resources": {"limits": {"cpu": True}}}, {}, QUANTITY_FORMAT),
    (
        {"name": "c", "ports": [{"containerPort": 80, "protocol": ["TCP"]}]},
        {},
        _go("array", "ContainerPort.spec.template.spec.containers.ports.protocol", "v1.Protocol"),
    ),
    (
        {"name": "c", "livenessProbe": {"httpGet": {"port": 1.5}}},
        {},
        _go(
            "number 1.5",
            "HTTPGetAction.spec.template.spec.containers.livenessProbe.httpGet.port",
            "int32",
        ),
    ),
    (
        {"name": "c", "securityContext": {"runAsUser": "root"}},
        {},
        _go(
            "string",
            "SecurityContext.spec.template.spec.containers.securityContext.runAsUser",
            "int64",
        ),
    ),
    (
        {"name": "c", "command": "sh"},
        {},
        _go("string", "Container.spec.template.spec.containers.command", "[]string"),
    ),
]


@pytest.mark.parametrize(("container", "spec", "message"), DEPLOY_TYPE_CASES)
def test_deployment_type_errors(
    container: dict[str, Any], spec: dict[str, Any], message: str
) -> None:
    result = decode_body("Deployment", "apps/v1", _body(_deployment(container, **spec)))[1]
    assert format_decode_error("Deployment", "apps/v1", result) == DEPLOY_PREFIX + message


OTHER_TYPE_CASES = [
    ("v1", "ConfigMap", {"data": {"a": {}}}, _go("object", "ConfigMap.data", "string")),
    ("v1", "Secret", {"data": {"a": "!!"}}, "illegal base64 data at input byte 0"),
    ("v1", "Secret", {"data": {"a": 5}}, _go("number", "Secret.data", "[]uint8")),
    (
        "v1",
        "Event",
        {"eventTime": "2024-01-01T00:00:00Z"},
        'parsing time "2024-01-01T00:00:00Z" as "2006-01-02T15:04:05.000000Z07:00": '
        'cannot parse "Z" as ".000000"',
    ),
    (
        "v1",
        "Node",
        {"status": {"daemonEndpoints": {"kubeletEndpoint": {"Port": "x"}}}},
        _go("string", "DaemonEndpoint.status.daemonEndpoints.kubeletEndpoint.Port", "int32"),
    ),
    (
        "discovery.k8s.io/v1",
        "EndpointSlice",
        {"addressType": "IPv4", "endpoints": [{"conditions": {"ready": "yes"}}]},
        _go("string", "EndpointConditions.endpoints.conditions.ready", "bool"),
    ),
    (
        "networking.k8s.io/v1",
        "Ingress",
        {"spec": {"rules": [{"http": "x"}]}},
        _go("string", "IngressRule.spec.rules.http", "v1.HTTPIngressRuleValue"),
    ),
    (
        "networking.k8s.io/v1",
        "Ingress",
        {"spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": "80"}}}}},
        _go("string", "ServiceBackendPort.spec.defaultBackend.service.port.number", "int32"),
    ),
    (
        "v1",
        "Pod",
        {"spec": {"volumes": [{"name": "v", "emptyDir": "x"}]}},
        _go("string", "Volume.spec.volumes.emptyDir", "v1.EmptyDirVolumeSource"),
    ),
    (
        "coordination.k8s.io/v1",
        "Lease",
        {"spec": {"renewTime": 5}},
        _go("number", "LeaseSpec.spec.renewTime", "string"),
    ),
]


@pytest.mark.parametrize(("api_version", "kind", "fields", "message"), OTHER_TYPE_CASES)
def test_type_errors_of_other_kinds(
    api_version: str, kind: str, fields: dict[str, Any], message: str
) -> None:
    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}, **fields}
    prefix = f'{kind} in version "v1" cannot be handled as a {kind}: '
    assert _strict(kind, api_version, _body(obj)) == prefix + message


def test_type_error_beats_strict_errors_and_null_is_always_fine() -> None:
    result = decode_body("Service", "v1", _body(_service({"portz": 1, "ports": [{"port": "8"}]})))[
        1
    ]
    assert result.unknown == ["spec.portz"]
    assert format_strict_error("Service", "v1", result) == SVC_PREFIX + _go("string", PORT, "int32")
    nulls = _service({"ports": [{"port": None, "targetPort": None}], "selector": None})
    nulls["metadata"] = {"name": "web", "creationTimestamp": None, "labels": None}
    assert decode_body("Service", "v1", _body(nulls))[1].clean


# ---- unparseable bodies ----------------------------------------------------------------------

SYNTAX_CASES = [
    (b"", "unexpected end of JSON input"),
    (b"x", "invalid character 'x' looking for beginning of value"),
    (b'{"a":1', "unexpected end of JSON input"),
    (b'{"a" 1}', "invalid character '1' after object key"),
    (b'{"a":1 "b":2}', "invalid character '\"' after object key:value pair"),
    (b"{,}", "invalid character ',' looking for beginning of object key string"),
    (b"{'a':1}", "invalid character '\\'' looking for beginning of object key string"),
    (b"[1,]", "invalid character ']' looking for beginning of value"),
    (b"[1 2]", "invalid character '2' after array element"),
    (b"trux", "invalid character 'x' in literal true (expecting 'e')"),
    (b"nul", "unexpected end of JSON input"),
    (b"01", "invalid character '1' after top-level value"),
    (b"-a", "invalid character 'a' in numeric literal"),
    (b"1.e", "invalid character 'e' after decimal point in numeric literal"),
    (b"1ex", "invalid character 'x' in exponent of numeric literal"),
    (b'"\\x"', "invalid character 'x' in string escape code"),
    (b'"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"),
    (b'"a\nb"', "invalid character '\\n' in string literal"),
    (b"NaN", "invalid character 'N' looking for beginning of value"),
    (b"\xef\xbb\xbf{}", "invalid character '\u00ef' looking for beginning of value"),
    (b"{} {}", "invalid character '{' after top-level value"),
]


@pytest.mark.parametrize(("body", "message"), SYNTAX_CASES)
def test_invalid_json_is_reported_like_go(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_json_strict(body)
    assert schema_go.json_syntax_error(body) == message


FIND_KIND = (
    'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
    'Kind string "json:\\"kind,omitempty\\"" }'
)
PARSE_ERROR = "couldn't get version/kind; json parse error: "
UNRECOGNIZED_CASES = [
    (b"", PARSE_ERROR + "unexpected end of JSON input (<empty>)"),
    (b'{"kind":"Service",', PARSE_ERROR + 'unexpected end of JSON input ({"kind":"Service",)'),
    (
        b"[1]",
        PARSE_ERROR + f"json: cannot unmarshal array into Go value of type {FIND_KIND} (5b315d)",
    ),
    (
        b'{"apiVersion":"v1","kind":5}',
        PARSE_ERROR + "json: cannot unmarshal number into Go struct field .kind of type string "
        '({"apiVersion":"v1","kind":5})',
    ),
    (
        b'{"apiVersion":"a/b/c","kind":"Service","metadata":{}}',
        'unexpected GroupVersion string: a/b/c ({"apiVersion":"a/b/c","kind":" ...)',
    ),
]


@pytest.mark.parametrize(("body", "message"), UNRECOGNIZED_CASES)
def test_unrecognized_bodies(body: bytes, message: str) -> None:
    _, result = decode_body("Service", "v1", body)
    expected = f"the object provided is unrecognized (must be of type Service): {message}"
    assert format_decode_error("Service", "v1", result, body) == expected
    assert format_strict_error("Service", "v1", result, body) == expected


# ---- YAML ------------------------------------------------------------------------------------


def test_yaml_scalars_follow_goyaml() -> None:
    body = b"""apiVersion: v1
kind: Service
metadata:
  name: web
  creationTimestamp: 2024-01-02T03:04:05Z
  labels: {enabled: "y", version: 1.10}
spec:
  ports:
  - port: 80.0
    targetPort: 8080
  publishNotReadyAddresses: y
"""
    value, result = decode_body("Service", "v1", body, "application/yaml; charset=utf-8")
    assert value["metadata"]["creationTimestamp"] == "2024-01-02T03:04:05Z"
    assert value["spec"]["ports"][0]["port"] == 80
    assert value["spec"]["publishNotReadyAddresses"] is True
    assert result.type_errors == [_go("number", "ObjectMeta.metadata.labels", "string")]


def test_yaml_parse_error_and_content_type_switch() -> None:
    body = b"metadata:\n  name: a\n namespace: b\n"
    result = decode_body("Service", "v1", body, "application/yaml")[1]
    assert result.unrecognized == "yaml: line 2: did not find expected key"
    assert format_decode_error("Service", "v1", result, body) == (
        "the object provided is unrecognized (must be of type Service): "
        "yaml: line 2: did not find expected key "
        "(6d657461646174613a0a20206e616d653a20610a206e616d657370616365 ...)"
    )
    flow = decode_body("Service", "v1", b"a: [1, 2\nb: c\n", "application/yaml")[1]
    assert flow.unrecognized == "yaml: line 1: did not find expected ',' or ']'"
    assert parse_yaml_or_json(b"a: 1\n", "application/yaml") == {"a": 1}
    assert parse_yaml_or_json(b'{"a": 1}', "application/json") == {"a": 1}
    with pytest.raises(ValueError, match="invalid character 'a'"):
        parse_yaml_or_json(b"a: 1\n", "application/json")


# ---- clean bodies ----------------------------------------------------------------------------


def _yaml_line(line: str) -> bool:
    if "```" in line or "$ " in line:
        return False
    return line == "" or line[0] in " #" or re.match(r"[A-Za-z]+:( |$)", line) is not None


def _extract_manifests(text: str) -> list[str]:
    """Manifests quoted in a seed note: from `apiVersion:`/`kind:` to the first non-YAML line."""
    docs: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if current and _yaml_line(line):
            current.append(line)
            continue
        if current:
            docs.append("\n".join(current))
        current = [line] if re.match(r"(apiVersion|kind):", line) else []
    if current:
        docs.append("\n".join(current))
    return docs


def _assert_clean(body: bytes, content_type: str) -> None:
    value = parse_yaml_or_json(body, content_type)
    kind, api_version = value["kind"], value["apiVersion"]
    assert (api_version, kind) in SCHEMAS
    for data, ctype in ((body, content_type), (_body(value), "application/json")):
        result = decode_body(kind, api_version, data, ctype)[1]
        assert result == DecodeResult(), (kind, result)


SEED_FIXTURES = sorted((ROOT / "tests/fixtures/seeds").glob("*.yaml"))


@pytest.mark.parametrize("path", SEED_FIXTURES, ids=lambda p: p.name)
def test_seed_fixture_manifests_are_clean(path: Path) -> None:
    _assert_clean(path.read_bytes(), "application/yaml")


@pytest.mark.skipif(not SHARED_SEEDS.is_dir(), reason="the seed notes are not on this machine")
def test_every_manifest_in_the_seed_notes_is_clean() -> None:
    texts = [path.read_text() for path in sorted(SHARED_SEEDS.glob("*.txt"))]
    docs = [doc for text in texts for doc in _extract_manifests(text)]
    kinds = sorted(
        str(parse_yaml_or_json(doc.encode(), "application/yaml")["kind"]) for doc in docs
    )
    assert kinds == ["Deployment"] * 2 + ["Service"] * 6
    for doc in docs:
        _assert_clean(doc.encode(), "application/yaml")


REAL_POD = """{"apiVersion":"v1","kind":"Pod","metadata":{"creationTimestamp":
"2025-01-15T10:21:33Z","generateName":"web-5d8c7c9f6b-","labels":{"app":"web",
"pod-template-hash":"5d8c7c9f6b"},"managedFields":[{"apiVersion":"v1","fieldsType":"FieldsV1",
"fieldsV1":{"f:metadata":{"f:generateName":{},"f:labels":{".":{},"f:app":{}},
"f:ownerReferences":{".":{},"k:{\\"uid\\":\\"8e3c\\"}":{}}}},"manager":
"kube-controller-manager","operation":"Update","time":"2025-01-15T10:21:33Z"},{"apiVersion":
"v1","fieldsType":"FieldsV1","fieldsV1":{"f:status":{"f:conditions":{
"k:{\\"type\\":\\"Ready\\"}":{".":{}}}}},"manager":"kubelet","operation":"Update","subresource"
:"status","time":"2025-01-15T10:21:36Z"}],"name":"web-5d8c7c9f6b-x2x7q","namespace":"default",
"ownerReferences":[{"apiVersion":"apps/v1","blockOwnerDeletion":true,"controller":true,"kind":
"ReplicaSet","name":"web-5d8c7c9f6b","uid":"8e3c"}],"resourceVersion":"1337","uid":
"0f6e6a8c-5a1e-4d52-9f0b-3f8d2f3c9d11"},"spec":{"containers":[{"image":"nginx:1.27",
"imagePullPolicy":"IfNotPresent","name":"nginx","ports":[{"containerPort":80,"name":"http",
"protocol":"TCP"}],"readinessProbe":{"failureThreshold":3,"httpGet":{"path":"/","port":"http",
"scheme":"HTTP"},"periodSeconds":10,"successThreshold":1,"timeoutSeconds":1},"resources":{
"limits":{"cpu":"500m","memory":"128Mi"},"requests":{"cpu":"100m","memory":"64Mi"}},
"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File",
"volumeMounts":[{"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount","name":
"kube-api-access-8tq5n","readOnly":true}]}],"dnsPolicy":"ClusterFirst","enableServiceLinks":
true,"nodeName":"kind-control-plane","preemptionPolicy":"PreemptLowerPriority","priority":0,
"restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},
"serviceAccount":"default","serviceAccountName":"default","terminationGracePeriodSeconds":30,
"tolerations":[{"effect":"NoExecute","key":"node.kubernetes.io/not-ready","operator":"Exists",
"tolerationSeconds":300},{"effect":"NoExecute","key":"node.kubernetes.io/unreachable",
"operator":"Exists","tolerationSeconds":300}],"volumes":[{"name":"kube-api-access-8tq5n",
"projected":{"defaultMode":420,"sources":[{"serviceAccountToken":{"expirationSeconds":3607,
"path":"token"}},{"configMap":{"items":[{"key":"ca.crt","path":"ca.crt"}],"name":
"kube-root-ca.crt"}},{"downwardAPI":{"items":[{"fieldRef":{"apiVersion":"v1","fieldPath":
"metadata.namespace"},"path":"namespace"}]}}]}}]},"status":{"conditions":[{"lastProbeTime":null
,"lastTransitionTime":"2025-01-15T10:21:36Z","status":"True","type":"PodReadyToStartContainers"
},{"lastProbeTime":null,"lastTransitionTime":"2025-01-15T10:21:33Z","status":"True","type":
"Initialized"},{"lastProbeTime":null,"lastTransitionTime":"2025-01-15T10:21:37Z","status":
"True","type":"Ready"},{"lastProbeTime":null,"lastTransitionTime":"2025-01-15T10:21:37Z",
"status":"True","type":"ContainersReady"},{"lastProbeTime":null,"lastTransitionTime":
"2025-01-15T10:21:33Z","status":"True","type":"PodScheduled"}],"containerStatuses":[{
"containerID":"containerd://4f1c","image":"docker.io/library/nginx:1.27","imageID":
"docker.io/library/nginx@sha256:0a39","lastState":{},"name":"nginx","ready":true,"restartCount"
:0,"started":true,"state":{"running":{"startedAt":"2025-01-15T10:21:35Z"}},"volumeMounts":[{
"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount","name":"kube-api-access-8tq5n",
"readOnly":true,"recursiveReadOnly":"Disabled"}]}],"hostIP":"172.18.0.2","hostIPs":[{"ip":
"172.18.0.2"}],"phase":"Running","podIP":"10.244.0.5","podIPs":[{"ip":"10.244.0.5"}],"qosClass"
:"Burstable","startTime":"2025-01-15T10:21:33Z"}}"""

REAL_DEPLOYMENT = """{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{
"deployment.kubernetes.io/revision":"1","kubectl.kubernetes.io/last-applied-configuration":
"{\\"apiVersion\\":\\"apps/v1\\"}\\n"},"creationTimestamp":"2025-01-15T10:21:33Z","generation":
1,"name":"web","namespace":"default","resourceVersion":"1401","uid":
"c1b0c3a2-8d1f-4c55-b7c8-3c9c6c2b5d0e","managedFields":[{"apiVersion":"apps/v1","fieldsType":
"FieldsV1","fieldsV1":{"f:spec":{"f:replicas":{}}},"manager":"kubectl-client-side-apply",
"operation":"Update","time":"2025-01-15T10:21:33Z"},{"apiVersion":"apps/v1","fieldsType":
"FieldsV1","fieldsV1":{"f:status":{"f:replicas":{}}},"manager":"kube-controller-manager",
"operation":"Update","subresource":"status","time":"2025-01-15T10:21:40Z"}]},"spec":{
"progressDeadlineSeconds":600,"replicas":2,"revisionHistoryLimit":10,"selector":{"matchLabels":
{"app":"web"}},"strategy":{"rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"},"type":
"RollingUpdate"},"template":{"metadata":{"creationTimestamp":null,"labels":{"app":"web"}},
"spec":{"containers":[{"image":"nginx:1.27","imagePullPolicy":"IfNotPresent","name":"nginx",
"ports":[{"containerPort":80,"protocol":"TCP"}],"resources":{},"terminationMessagePath":
"/dev/termination-log","terminationMessagePolicy":"File"}],"dnsPolicy":"ClusterFirst",
"restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},
"terminationGracePeriodSeconds":30}}},"status":{"availableReplicas":2,"conditions":[{
"lastTransitionTime":"2025-01-15T10:21:40Z","lastUpdateTime":"2025-01-15T10:21:40Z","message":
"Deployment has minimum availability.","reason":"MinimumReplicasAvailable","status":"True",
"type":"Available"},{"lastTransitionTime":"2025-01-15T10:21:33Z","lastUpdateTime":
"2025-01-15T10:21:40Z","message":"ReplicaSet \\"web-5d8c7c9f6b\\" has successfully progressed."
,"reason":"NewReplicaSetAvailable","status":"True","type":"Progressing"}],"observedGeneration":
1,"readyReplicas":2,"replicas":2,"updatedReplicas":2}}"""

REAL_OTHERS = [
    """{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default","uid"
:"u","resourceVersion":"9","creationTimestamp":"2025-01-15T10:21:33Z"},"spec":{"clusterIP":
"10.96.12.34","clusterIPs":["10.96.12.34"],"internalTrafficPolicy":"Cluster","ipFamilies":[
"IPv4"],"ipFamilyPolicy":"SingleStack","ports":[{"name":"http","nodePort":30080,"port":80,
"protocol":"TCP","targetPort":"http"}],"selector":{"app":"web"},"sessionAffinity":"ClientIP",
"sessionAffinityConfig":{"clientIP":{"timeoutSeconds":10800}},"externalTrafficPolicy":"Cluster"
,"type":"NodePort"},"status":{"loadBalancer":{}}}""",
    """{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":
"web-abcde","namespace":"default","labels":{"kubernetes.io/service-name":"web"},"generateName":
"web-"},"addressType":"IPv4","endpoints":[{"addresses":["10.244.0.5"],"conditions":{"ready":
true,"serving":true,"terminating":false},"nodeName":"kind-control-plane","targetRef":{"kind":
"Pod","name":"web-5d8c7c9f6b-x2x7q","namespace":"default","uid":"0f6e"},"zone":"z1","hints":{
"forZones":[{"name":"z1"}]}}],"ports":[{"name":"http","port":80,"protocol":"TCP"}]}""",
    """{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web",
"annotations":{"a":"b"}},"spec":{"ingressClassName":"nginx","tls":[{"hosts":["a.example"],
"secretName":"tls"}],"rules":[{"host":"a.example","http":{"paths":[{"path":"/","pathType":
"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}}]}}]},"status":{
"loadBalancer":{"ingress":[{"ip":"172.18.0.2"}]}}}""",
    """{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","labels":{
"kubernetes.io/hostname":"n1"}},"spec":{"podCIDR":"10.244.0.0/24","podCIDRs":["10.244.0.0/24"],
"taints":[{"effect":"NoSchedule","key":"k"}]},"status":{"addresses":[{"address":"172.18.0.2",
"type":"InternalIP"}],"allocatable":{"cpu":"2","memory":"8Gi","pods":"110"},"capacity":{"cpu":
"2","ephemeral-storage":"100Gi","memory":"8148Mi","pods":"110"},"conditions":[{
"lastHeartbeatTime":"2025-01-15T10:21:33Z","lastTransitionTime":"2025-01-15T10:21:33Z",
"message":"kubelet is posting ready status","reason":"KubeletReady","status":"True","type":
"Ready"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":10250}},"images":[{"names":["nginx:1.27"
],"sizeBytes":72000000}],"nodeInfo":{"architecture":"amd64","bootID":"b",
"containerRuntimeVersion":"containerd://1.7","kernelVersion":"6.1","kubeProxyVersion":"",
"kubeletVersion":"v1.32.0","machineID":"m","operatingSystem":"linux","osImage":"Debian",
"systemUUID":"s"},"runtimeHandlers":[{"features":{"recursiveReadOnlyMounts":true,
"userNamespaces":true},"name":"runc"}],"features":{"supplementalGroupsPolicy":true}}}""",
    """{"apiVersion":"v1","kind":"Event","metadata":{"name":"web.181","namespace":"default"},
"involvedObject":{"apiVersion":"v1","kind":"Service","name":"web","namespace":"default","uid":
"u"},"reason":"Created","message":"m","source":{"component":"kubesvc"},"firstTimestamp":
"2025-01-15T10:21:33Z","lastTimestamp":"2025-01-15T10:21:33Z","count":1,"type":"Normal",
"eventTime":null,"series":{"count":2,"lastObservedTime":"2025-01-15T10:21:33.123456Z"},
"reportingComponent":"","reportingInstance":""}""",
    """{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"n1",
"namespace":"kube-node-lease"},"spec":{"holderIdentity":"n1","leaseDurationSeconds":40,
"renewTime":"2025-01-15T10:21:33.000000Z"}}""",
    """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"type":"Opaque","data":{"a":
"aGVsbG8=","b":""},"stringData":{"c":"d"}}""",
]


@pytest.mark.parametrize(
    "text", [REAL_POD, REAL_DEPLOYMENT, *REAL_OTHERS], ids=lambda t: json.loads(t)["kind"]
)
def test_objects_as_a_real_server_returns_them_are_clean(text: str) -> None:
    obj = json.loads(text)
    for body in (text.encode(), _body(obj)):
        assert decode_body(obj["kind"], obj["apiVersion"], body)[1] == DecodeResult()
    assert check_object(obj["kind"], obj["apiVersion"], obj, sort_keys=True) == DecodeResult()


def test_unknown_kind_and_delete_options() -> None:
    assert decode_body("Widget", "v1", b'{"anything": 1}')[1] == DecodeResult()
    options = b'{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background","x":1}'
    assert decode_body("DeleteOptions", "v1", options)[1].unknown == ["x"]


# ---- the tables against the Kubernetes client's models --------------------------------------

# Fields the (newer) client models have that Kubernetes 1.32 does not.
NEWER_THAN_1_32 = {
    "PodSpec": {"evictionResponders", "hostnameOverride", "schedulingGroup"},
    "Container": {"restartPolicyRules"},
    "EphemeralContainer": {"restartPolicyRules"},
    "EnvVarSource": {"fileKeyRef"},
    "Lifecycle": {"stopSignal"},
    "HTTPGetAction": {"protocol"},
    "GRPCAction": {"mode"},
    "VolumeMount": {"bindMountOptions"},
    "ConfigMapVolumeSource": {"defaultUser"},
    "SecretVolumeSource": {"defaultUser"},
    "DownwardAPIVolumeSource": {"defaultUser"},
    "ProjectedVolumeSource": {"defaultUser"},
    "KeyToPath": {"user"},
    "DownwardAPIVolumeFile": {"user"},
    "ServiceAccountTokenProjection": {"user"},
    "ClusterTrustBundleProjection": {"user"},
    "EmptyDirVolumeSource": {"mode"},
    "VolumeProjection": {"podCertificate"},
    "ResourceHealth": {"message"},
    "PodStatus": {
        "allocatedResources",
        "extendedResourceClaimStatus",
        "nodeAllocatableResourceClaimStatuses",
        "observedGeneration",
        "resources",
        "volumeHealth",
    },
    "PodCondition": {"observedGeneration"},
    "ContainerStatus": {"stopSignal"},
    "VolumeMountStatus": {"volumeStatus"},
    "DeploymentStatus": {"terminatingReplicas"},
    "ReplicaSetStatus": {"terminatingReplicas"},
    "PersistentVolumeClaimStatus": {"healthStatus"},
    "EndpointHints": {"forNodes"},
    "NodeSpec": {"podPreemptionPolicy"},
    "NodeStatus": {"declaredFeatures"},
    "NodeSystemInfo": {"runningInUserNamespace", "swap"},
}
CLIENT_KINDS = {("v1", "Event"): "CoreV1Event"}
SPECIAL_TYPES = {"intstr": "object", "quantity": "str", "time": "datetime", "microtime": "datetime"}


def _inner(typ: Type) -> Type:
    while isinstance(typ, ListOf | MapOf):
        typ = typ.elem
    return typ


def _agrees(typ: Type, client_type: str) -> bool:
    if isinstance(typ, ListOf):
        return client_type.startswith("List[")
    if isinstance(typ, MapOf):
        return client_type.startswith("Dict[")
    if isinstance(typ, Struct):
        return re.fullmatch(r"\w*V1\w+", client_type) is not None
    if isinstance(typ, Special):
        return typ.kind in ("raw", "bytes") or client_type == SPECIAL_TYPES[typ.kind]
    assert isinstance(typ, Scalar)
    return client_type == {"string": "str", "bool": "bool", "int": "int"}[typ.kind]


def _compare(client: Any, struct: Struct, model: str, problems: list[str], seen: set[str]) -> None:
    if model in seen:
        return
    seen.add(model)
    cls = getattr(client, model)
    theirs = {cls.attribute_map[name]: kind for name, kind in cls.openapi_types.items()}
    extra = set(struct.fields) - set(theirs)
    missing = set(theirs) - set(struct.fields) - NEWER_THAN_1_32.get(struct.name, set())
    problems += [f"{struct.name}.{name}: not in {model}" for name in sorted(extra)]
    problems += [f"{struct.name}.{name}: missing" for name in sorted(missing)]
    for name, typ in struct.fields.items():
        if name not in theirs:
            continue
        if not _agrees(typ, theirs[name]):
            problems.append(f"{struct.name}.{name}: {typ} vs {theirs[name]}")
        inner = _inner(typ)
        found = re.findall(r"\w*V1\w+", theirs[name])
        if isinstance(inner, Struct) and found:
            _compare(client, inner, found[-1], problems, seen)


def test_tables_match_the_kubernetes_api_types() -> None:
    client = pytest.importorskip("kubernetes.client")
    problems: list[str] = []
    seen: set[str] = set()
    for (api_version, kind), struct in SCHEMAS.items():
        model = CLIENT_KINDS.get((api_version, kind), f"V1{kind}")
        _compare(client, struct, model, problems, seen)
    assert problems == []
    assert len(seen) > 150


# ---- Go helpers ------------------------------------------------------------------------------


def _cannot(value: str, rest: str, elem: str) -> str:
    return f'parsing time "{value}" as {TIME_LAYOUT}: cannot parse "{rest}" as "{elem}"'


TIME_CASES = [
    ("2006-01-02T15:04:05Z", None),
    ("2006-01-02T15:04:05.999999999+07:00", None),
    ("2006-01-02", _cannot("2006-01-02", "", "T")),
    ("2006-01-02 15:04:05Z", _cannot("2006-01-02 15:04:05Z", " 15:04:05Z", "T")),
    ("2006-01-02T15:04:05", _cannot("2006-01-02T15:04:05", "", "Z07:00")),
    ("2006-1-02T15:04:05Z", _cannot("2006-1-02T15:04:05Z", "1-02T15:04:05Z", "01")),
    ("2006-01-02T25:04:05Z", 'parsing time "2006-01-02T25:04:05Z": hour out of range'),
    ("2006-13-02T15:04:05Z", 'parsing time "2006-13-02T15:04:05Z": month out of range'),
    ("2006-01-02T15:04:05Zjunk", 'parsing time "2006-01-02T15:04:05Zjunk": extra text: "junk"'),
    ("2023-02-29T00:00:00Z", 'parsing time "2023-02-29T00:00:00Z": day out of range'),
]


@pytest.mark.parametrize(("value", "message"), TIME_CASES)
def test_time_parse_errors(value: str, message: str | None) -> None:
    assert schema_go.time_error(value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("100m", None),
        ("1Gi", None),
        ("1e3", None),
        (" 2 ", None),
        ("0.5", None),
        ("", QUANTITY_FORMAT),
        ("abc", QUANTITY_FORMAT),
        ("1.5.3", QUANTITY_FORMAT),
        ("1ki", "unable to parse quantity's suffix"),
        ("1e", "unable to parse quantity's suffix"),
    ],
)
def test_quantity_errors(text: str, message: str | None) -> None:
    assert schema_go.quantity_error(text) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("aGVsbG8=", None),
        ("aGVs\nbG8=", None),
        ("", None),
        ("aGVsbG8", "illegal base64 data at input byte 4"),
        ("!!!!", "illegal base64 data at input byte 0"),
        ("aGVsbG8=x", "illegal base64 data at input byte 8"),
        ("a===", "illegal base64 data at input byte 1"),
    ],
)
def test_base64_errors(text: str, message: str | None) -> None:
    assert schema_go.base64_error(text) == message


def test_go_quote_and_go_float() -> None:
    assert schema_go.go_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert schema_go.go_quote("tab\there\x00é\u2028") == '"tab\\there\\x00é\\u2028"'
    floats = {
        1.0: "1",
        1.5: "1.5",
        1e21: "1e+21",
        1e-7: "1e-7",
        0.000001: "0.000001",
        -2.5e30: "-2.5e+30",
    }
    assert {value: schema_go.go_float(value) for value in floats} == floats


# ---- never raise -----------------------------------------------------------------------------

KEYS = ["apiVersion", "kind", "metadata", "spec", "status", "ports", "port", "targetPort"]
KEYS += ["labels", "name", "template", "containers", "resources", "limits", "data", "http"]
KEYS += ["creationTimestamp", "eventTime", "rules"]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=25,
)
KINDS = [*sorted(SCHEMAS), ("v1", "DeleteOptions"), ("v1", "Unknown")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), value=JSON_VALUES)
def test_random_values_never_raise(kind: tuple[str, str], value: Any) -> None:
    api_version, name = kind
    result = check_object(name, api_version, value)
    body = _body(value)
    from_body = decode_body(name, api_version, body)[1]
    for found in (result, from_body):
        assert isinstance(format_strict_error(name, api_version, found, body), str | None)
        assert all(isinstance(text, str) for text in warnings(found))
    if not result.type_errors and not from_body.type_errors:
        assert from_body.strict_errors == result.strict_errors  # same order as the document


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_random_bytes_never_raise(body: bytes) -> None:
    for content_type in ("application/json", "application/yaml"):
        _, result = decode_body("Service", "v1", body, content_type)
        assert isinstance(format_strict_error("Service", "v1", result, body), str | None)
