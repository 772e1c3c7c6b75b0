"""The pure parts of the built-in image programs: Go-style flags, pages, nginx configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubesvc.node.apps._common import FlagError, default_port, parse_flags
from kubesvc.node.apps.myapp import index_page
from kubesvc.node.apps.nginx import render_config

SPEC: dict[str, bool | int | str] = {"tcp": False, "http": True, "port": 9376, "name": ""}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], {"tcp": False, "http": True, "port": 9376, "name": ""}),
        (["--tcp", "--http=false"], {"tcp": True, "http": False, "port": 9376, "name": ""}),
        (["-port=80", "--name", "x"], {"tcp": False, "http": True, "port": 80, "name": "x"}),
        (["--port", "8080", "-tcp=1"], {"tcp": True, "http": True, "port": 8080, "name": ""}),
    ],
)
def test_parse_flags(argv: list[str], expected: dict[str, object]) -> None:
    assert parse_flags(argv, SPEC) == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--udp"], "unknown flag: --udp"),
        (["extra"], 'unknown command "extra"'),
        (["--port"], "flag needs an argument: --port"),
        (
            ["--port=http"],
            'invalid argument "http" for "--port" flag: strconv.ParseInt: parsing "http": '
            "invalid syntax",
        ),
        (
            ["--tcp=yes"],
            'invalid argument "yes" for "--tcp" flag: strconv.ParseBool: parsing "yes": '
            "invalid syntax",
        ),
    ],
)
def test_parse_flags_errors(argv: list[str], message: str) -> None:
    with pytest.raises(FlagError) as caught:
        parse_flags(argv, SPEC)
    assert str(caught.value) == message


def test_default_port_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBESVC_APP_PORT", raising=False)
    assert default_port(80) == 80
    monkeypatch.setenv("KUBESVC_APP_PORT", "18080")
    assert default_port(80) == 18080
    monkeypatch.setenv("KUBESVC_APP_PORT", "junk")
    assert default_port(80) == 80


def test_myapp_page_matches_seed_001() -> None:
    assert index_page("v2") == b'Hello MyApp | Version: v2 | <a href="hostname.html">Pod Name</a>\n'


def test_nginx_config() -> None:
    text = render_config(Path("/tmp/k"), "0.0.0.0", 80, Path("/var/www/html"))
    assert "daemon off;" in text
    assert "pid /tmp/k/nginx.pid;" in text
    assert "listen 0.0.0.0:80;" in text
    assert "root /var/www/html;" in text
    assert "access_log /dev/stdout main;" in text
    assert "client_body_temp_path /tmp/k/client_body;" in text
    assert text.count("{") == text.count("}")
    assert "listen [::]:8080;" in render_config(Path("/t"), "::", 8080, Path("/r"))
