"""String formats Kubernetes validates, with apimachinery's exact messages.

Each `is_*` function returns the list of problems with a value (empty when valid), worded
as `k8s.io/apimachinery/pkg/util/validation` words them, regex text included. The checks
themselves are written as plain character scans rather than regexes, so that long hostile
input cannot make them backtrack. IP and CIDR parsing follows `k8s.io/utils/net`'s "sloppy"
parsers: IPv4 octets may carry leading zeros, zones are refused.
"""

from __future__ import annotations

import ipaddress
import string

_LOWER_ALNUM = frozenset(string.ascii_lowercase + string.digits)
_ALNUM = frozenset(string.ascii_letters + string.digits)
_LABEL_CHARS = _LOWER_ALNUM | {"-"}
_QUALIFIED_CHARS = _ALNUM | {"-", "_", "."}
_CONFIG_KEY_CHARS = _ALNUM | {"-", "_", "."}
_HEADER_CHARS = _ALNUM | {"-"}

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + QUALIFIED_NAME_FMT + ")?"
WILDCARD_FMT = "\\*\\." + DNS1123_SUBDOMAIN_FMT


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """apimachinery's RegexError, double space after each example's comma included."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    text = msg + " (e.g. "
    for i, example in enumerate(examples):
        if i > 0:
            text += " or "
        text += f"'{example}', "
    return text + f"regex used for validation is '{fmt}')"


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


EMPTY_ERROR = "must be non-empty"


def _label_ok(value: str, first: frozenset[str]) -> bool:
    return (
        bool(value)
        and value[0] in first
        and value[-1] in _LOWER_ALNUM
        and all(c in _LABEL_CHARS for c in value)
    )


def _subdomain_ok(value: str) -> bool:
    return bool(value) and all(_label_ok(part, _LOWER_ALNUM) for part in value.split("."))


def is_dns1123_label(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _label_ok(value, _LOWER_ALNUM):
        if _subdomain_ok(value):
            errs.append("must not contain dots")
        else:
            msg = (
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                "or '-', and must start and end with an alphanumeric character"
            )
            errs.append(regex_error(msg, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 253:
        errs.append(max_len_error(253))
    if not _subdomain_ok(value):
        msg = (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', and must start and end with an alphanumeric character"
        )
        errs.append(regex_error(msg, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _label_ok(value, frozenset(string.ascii_lowercase)):
        msg = (
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
            "start with an alphabetic character, and end with an alphanumeric character"
        )
        errs.append(regex_error(msg, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_wildcard_dns1123_subdomain(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 253:
        errs.append(max_len_error(253))
    if not (value.startswith("*.") and _subdomain_ok(value[2:])):
        msg = (
            "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS "
            "subdomain, which must consist of lower case alphanumeric characters, '-' or '.' "
            "and end with an alphanumeric character"
        )
        errs.append(regex_error(msg, WILDCARD_FMT, "*.example.com"))
    return errs


def _qualified_ok(value: str) -> bool:
    return (
        bool(value)
        and value[0] in _ALNUM
        and value[-1] in _ALNUM
        and all(c in _QUALIFIED_CHARS for c in value)
    )


_QUALIFIED_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character"
)


def is_qualified_name(value: str) -> list[str]:
    """A label key / qualified name: optional DNS subdomain prefix, '/', a 63-char name."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + EMPTY_ERROR)
        else:
            errs.extend("prefix part " + msg for msg in is_dns1123_subdomain(prefix))
    else:
        detail = regex_error(_QUALIFIED_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        return [
            "a qualified name "
            + detail
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + EMPTY_ERROR)
    elif len(name) > 63:
        errs.append("name part " + max_len_error(63))
    if not _qualified_ok(name):
        errs.append(
            "name part "
            + regex_error(_QUALIFIED_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_label_value(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if value and not _qualified_ok(value):
        msg = (
            "a valid label must be an empty string or consist of alphanumeric characters, "
            "'-', '_' or '.', and must start and end with an alphanumeric character"
        )
        errs.append(regex_error(msg, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def is_valid_port_num(port: int) -> list[str]:
    return [] if 1 <= port <= 65535 else [inclusive_range_error(1, 65535)]


def is_valid_port_name(port: str) -> list[str]:
    """IANA_SVC_NAME: at most 15 of [-a-z0-9], one letter, no '--', no edge hyphen."""
    errs: list[str] = []
    if len(port) > 15:
        errs.append(max_len_error(15))
    if not port or not all(c in _LABEL_CHARS for c in port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not any(c in string.ascii_lowercase for c in port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def _chdir_prefix(value: str) -> list[str]:
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    if value.startswith(".."):
        return ["must not start with '..'"]
    return []


def is_config_map_key(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 253:
        errs.append(max_len_error(253))
    if not value or not all(c in _CONFIG_KEY_CHARS for c in value):
        msg = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
        errs.append(regex_error(msg, "[-._a-zA-Z0-9]+", "key.name", "KEY_NAME", "key-name"))
    return errs + _chdir_prefix(value)


def is_relaxed_env_var_name(value: str) -> list[str]:
    """Kubernetes 1.32 default (RelaxedEnvironmentVariableValidation): printable ASCII, no '='."""
    errs: list[str] = []
    if not value:
        errs.append("environment variable name " + EMPTY_ERROR)
    if any(not (0x20 <= ord(c) <= 0x7E) or c == "=" for c in value):
        errs.append(
            "a valid environment variable name must consist only of printable ASCII "
            "characters other than '='"
        )
    return errs


def is_valid_percent(value: str) -> list[str]:
    if len(value) >= 2 and value.endswith("%") and value[:-1].isascii() and value[:-1].isdigit():
        return []
    msg = "a valid percent string must be a numeric string followed by an ending '%'"
    return [regex_error(msg, "[0-9]+%", "1%", "93%")]


def is_http_header_name(value: str) -> list[str]:
    if value and all(c in _HEADER_CHARS for c in value):
        return []
    msg = "a valid HTTP header must consist of alphanumeric characters or '-'"
    return [regex_error(msg, "[-A-Za-z0-9]+", "X-Header-Name")]


def is_path_segment_name(value: str) -> list[str]:
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


def is_domain_prefixed_path(value: str) -> list[str]:
    """IsDomainPrefixedPath's messages, for an IngressClass controller name."""
    segments = value.split("/", 1)
    if len(segments) != 2 or not segments[0] or not segments[1]:
        return ['must be a domain-prefixed path (such as "acme.io/foo")']
    return is_dns1123_subdomain(segments[0])


# ------------------------------------------------------------------------------ IP addresses

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse_ipv4_sloppy(value: str) -> ipaddress.IPv4Address | None:
    parts = value.split(".")
    if len(parts) != 4:
        return None
    octets: list[int] = []
    for part in parts:
        if not part or len(part) > 3 or not part.isascii() or not part.isdigit():
            return None
        number = int(part)
        if number > 255:
            return None
        octets.append(number)
    return ipaddress.IPv4Address(bytes(octets))


def parse_ip_sloppy(value: str) -> IPAddress | None:
    """netutils.ParseIPSloppy: IPv4 (leading zeros allowed) or IPv6 without a zone."""
    if not isinstance(value, str) or not value or not value.isascii():
        return None
    if ":" not in value:
        return _parse_ipv4_sloppy(value)
    if "%" in value or "/" in value:
        return None
    try:
        return ipaddress.IPv6Address(value)
    except ValueError:
        return None


def unmap(ip: IPAddress) -> IPAddress:
    """Go treats IPv4-mapped IPv6 addresses as IPv4."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_ipv4(value: str) -> bool:
    ip = parse_ip_sloppy(value)
    return ip is not None and isinstance(unmap(ip), ipaddress.IPv4Address)


def is_ipv6(value: str) -> bool:
    ip = parse_ip_sloppy(value)
    return ip is not None and isinstance(unmap(ip), ipaddress.IPv6Address)


def parse_cidr_sloppy(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """netutils.ParseCIDRSloppy: address/prefix, host bits allowed; the network is returned."""
    if not isinstance(value, str) or value.count("/") != 1:
        return None
    addr_text, prefix_text = value.split("/")
    ip = parse_ip_sloppy(addr_text)
    if ip is None or not prefix_text.isascii() or not prefix_text.isdigit():
        return None
    if len(prefix_text) > 3:
        return None
    prefix = int(prefix_text)
    if prefix > ip.max_prefixlen:
        return None
    return ipaddress.ip_network(f"{ip}/{prefix}", strict=False)


def special_ip_problems(ip: IPAddress, text: str) -> list[str]:
    """ValidateNonSpecialIP: unspecified, loopback, link-local unicast and multicast."""
    ip = unmap(ip)
    problems: list[str] = []
    packed = ip.packed
    if ip.is_unspecified:
        problems.append(f"may not be unspecified ({text})")
    if ip.is_loopback:
        problems.append("may not be in the loopback range (127.0.0.0/8, ::1/128)")
    if isinstance(ip, ipaddress.IPv4Address):
        link_local = packed[0] == 169 and packed[1] == 254
        link_multicast = packed[0] == 224 and packed[1] == 0 and packed[2] == 0
    else:
        link_local = packed[0] == 0xFE and (packed[1] & 0xC0) == 0x80
        link_multicast = packed[0] == 0xFF and (packed[1] & 0x0F) == 0x02
    if link_local:
        problems.append("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
    if link_multicast:
        problems.append("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
    return problems
