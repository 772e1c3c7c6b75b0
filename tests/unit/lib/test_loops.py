"""Choosing the proxy's event loop by name: clear errors for an unknown name or a missing uvloop."""

from __future__ import annotations

import asyncio
import importlib

import pytest

from kubesvc.lib import loops


def test_asyncio_is_the_standard_library_loop() -> None:
    assert loops.loop_factory("asyncio") is asyncio.new_event_loop


def test_an_unknown_loop_is_refused_with_the_choices() -> None:
    with pytest.raises(loops.EventLoopError, match="must be one of asyncio, uvloop"):
        loops.loop_factory("trio")


def test_uvloop_missing_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def no_uvloop(name: str, package: str | None = None) -> object:
        if name == "uvloop":
            raise ModuleNotFoundError("No module named 'uvloop'")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", no_uvloop)
    with pytest.raises(loops.EventLoopError, match=r"uvloop is not installed; install it with"):
        loops.loop_factory("uvloop")


def test_a_bad_name_is_refused_before_the_coroutine_exists() -> None:
    made: list[str] = []

    async def main() -> None:
        made.append("called")

    with pytest.raises(loops.EventLoopError):
        loops.run(main, "nope")
    assert made == []
