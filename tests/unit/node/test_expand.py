"""`$(VAR)` expansion edge cases, as the kubelet's forked expansion package handles them."""

from __future__ import annotations

import pytest

from kubesvc.node.expand import expand, expand_all

ENV = {"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(VAR_A)", "A"),
        ("___$(VAR_B)___", "___B___"),
        ("$(VAR_A)-$(VAR_A)", "A-A"),
        ("$(VAR_A)$(VAR_B)$(VAR_C)", "ABC"),
        ("$(VAR_REF)", "$(VAR_A)"),  # values are not expanded again
        ("$(VAR_EMPTY)", ""),
        ("$(UNKNOWN)", "$(UNKNOWN)"),
        ("f000-$(UNKNOWN)-$(VAR_A)", "f000-$(UNKNOWN)-A"),
        ("$$(VAR_B)", "$(VAR_B)"),  # escaped
        ("$$$(VAR_B)", "$B"),
        ("$$$$(VAR_A)", "$$(VAR_A)"),
        ("$$", "$"),
        ("$$$", "$$"),
        ("$", "$"),
        ("foo$", "foo$"),
        ("$VAR_A", "$VAR_A"),  # no parentheses: not a reference
        ("${VAR_A}", "${VAR_A}"),
        ("$(VAR_A", "$(VAR_A"),  # unclosed
        ("$($(VAR_A)", "$($(VAR_A)"),  # the name read is "$(VAR_A", unknown
        ("$()", "$()"),
        ("(VAR_A)", "(VAR_A)"),
        ("$(VAR_A)))", "A))"),
        ("héllo $(VAR_A) ünïcode $é", "héllo A ünïcode $é"),
        ("", ""),
    ],
)
def test_expand(text: str, expected: str) -> None:
    assert expand(text, ENV) == expected


def test_expand_all_for_command_and_args() -> None:
    assert expand_all(["sh", "-c", "echo $(VAR_A) $$(VAR_B)"], ENV) == [
        "sh",
        "-c",
        "echo A $(VAR_B)",
    ]
