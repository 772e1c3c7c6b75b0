"""EndpointSlice validation (discovery.k8s.io/v1 ValidateEndpointSlice).

The address type is required and fixed after creation (the deprecated `IP` type is accepted
only on update); each endpoint needs 1 to 100 addresses of that type (non-special IPv4/IPv6
addresses, or fully qualified names); ports have unique DNS-1123 label names and a protocol.
"""

from __future__ import annotations

from typing import Any

from kubesvc.api.errors import FieldError, duplicate, invalid, not_supported, required, too_many
from kubesvc.api.validation import formats
from kubesvc.api.validation.common import (
    IMMUTABLE,
    invalid_each,
    name_is_dns_subdomain,
    validate_label_name,
    validate_non_special_ip,
    validate_object_meta,
    validate_object_meta_update,
)
from kubesvc.api.validation.fields import Reader, child, index

PROTOCOLS = ["SCTP", "TCP", "UDP"]


ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]


def _validate_slice_address(address_type: str, address: str, path: str) -> list[FieldError]:
    if address_type == "IPv4":
        errs = (
            []
            if formats.is_ipv4(address)
            else [invalid(path, address, "must be a valid IPv4 address")]
        )
        return errs + validate_non_special_ip(address, path)
    if address_type == "IPv6":
        errs = (
            []
            if formats.is_ipv6(address)
            else [invalid(path, address, "must be a valid IPv6 address")]
        )
        return errs + validate_non_special_ip(address, path)
    if address_type == "FQDN":
        if not address:
            return [required(path)]
        name = address.removesuffix(".")
        problems = formats.is_dns1123_subdomain(name)
        if problems:
            return [invalid(path, name, ",".join(problems))]
        if len(name.split(".")) < 2:
            detail = "should be a domain with at least two segments separated by dots"
            return [invalid(path, name, detail)]
        for label in name.split("."):
            if formats.is_dns1123_label(label):
                return [invalid(path, label, ",".join(formats.is_dns1123_label(label)))]
    return []


def validate_endpoint_slice(r: Reader, obj: Any, old: Any = None) -> list[FieldError]:
    errs = [] if old is None else validate_object_meta_update(r, obj, old)
    errs += validate_object_meta(r, obj, True, name_is_dns_subdomain)
    address_type = r.string(obj, "addressType", "addressType")
    allowed = ADDRESS_TYPES if old is None else ["FQDN", "IP", "IPv4", "IPv6"]
    if not address_type:
        errs.append(required("addressType"))
    elif address_type not in allowed:
        errs.append(not_supported("addressType", address_type, allowed))
    endpoints = r.lst(obj, "endpoints", "endpoints")
    if len(endpoints) > 1000:
        errs.append(too_many("endpoints", len(endpoints), 1000))
        endpoints = []
    for i, raw in enumerate(endpoints):
        path = index("endpoints", i)
        endpoint = r.as_obj(raw, path)
        apath = child(path, "addresses")
        addresses = r.str_list(endpoint, "addresses", apath)
        if not addresses:
            errs.append(required(apath, "must contain at least 1 address"))
        elif len(addresses) > 100:
            errs.append(too_many(apath, len(addresses), 100))
        for j, address in enumerate(addresses):
            errs += _validate_slice_address(address_type, address, index(apath, j))
        hostname = r.opt_str(endpoint, "hostname", child(path, "hostname"))
        if hostname is not None:
            errs += invalid_each(
                child(path, "hostname"), hostname, formats.is_dns1123_label(hostname)
            )
    errs += _validate_slice_ports(r, obj)
    if old is not None and isinstance(old, dict) and old.get("addressType") != address_type:
        errs.append(invalid("addressType", address_type, IMMUTABLE))
    return errs


def _validate_slice_ports(r: Reader, obj: Any) -> list[FieldError]:
    errs: list[FieldError] = []
    ports = r.lst(obj, "ports", "ports")
    if len(ports) > 100:
        return [too_many("ports", len(ports), 100)]
    names: set[str] = set()
    for i, raw in enumerate(ports):
        path = index("ports", i)
        port = r.as_obj(raw, path)
        name = r.string(port, "name", child(path, "name"))
        if name:
            errs += invalid_each(child(path, "name"), name, formats.is_dns1123_label(name))
        if name in names:
            errs.append(duplicate(child(path, "name"), name))
        names.add(name)
        protocol = r.opt_str(port, "protocol", child(path, "protocol"))
        if protocol is None:
            errs.append(required(child(path, "protocol")))
        elif protocol not in PROTOCOLS:
            errs.append(not_supported(child(path, "protocol"), protocol, PROTOCOLS))
        number = r.opt_int(port, "port", child(path, "port"))
        if number is not None:
            errs += invalid_each(child(path, "port"), number, formats.is_valid_port_num(number))
        app_protocol = r.opt_str(port, "appProtocol", child(path, "appProtocol"))
        if app_protocol is not None:
            errs += validate_label_name(app_protocol, child(path, "appProtocol"))
    return errs
