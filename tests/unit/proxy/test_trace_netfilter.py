"""The rule parser and the one-chain walker: iptables' semantics as tables of packet → result."""

from __future__ import annotations

import pytest
from proxy_scenarios import scenario

from kubesvc.proxy.iptables.apply import FakeIptables
from kubesvc.proxy.trace.netfilter import Env, Packet, walk
from kubesvc.proxy.trace.ruleset import RuleSyntaxError, parse, parse_rule

PACKET = Packet(src="10.244.1.7", dst="10.96.0.10", proto="tcp", sport=40000, dport=80)
ENV = Env(local=lambda ip: ip in ("172.18.0.2", "127.0.0.1"), out_address="172.18.0.2")


def rules(*lines: str, table: str = "nat", policy: str = "ACCEPT") -> str:
    chains = {ln.split()[1] for ln in lines} | {"PREROUTING"}
    heads = [f":{c} {policy if c == 'PREROUTING' else '-'} [0:0]" for c in sorted(chains)]
    return "\n".join([f"*{table}", *heads, *lines, "COMMIT"]) + "\n"


def test_save_form_and_restore_form_parse_to_the_same_matches() -> None:
    saved = parse_rule(
        "nat",
        '-A KUBE-SVC-X ! -s 10.244.0.0/16 -d 10.96.0.10/32 -p tcp -m comment --comment "a b" '
        "-m tcp --dport 80 -j KUBE-MARK-MASQ",
    )
    rendered = parse_rule(
        "nat",
        '-A KUBE-SVC-X -m comment --comment "a b" -m tcp -p tcp -d 10.96.0.10 --dport 80 '
        "! -s 10.244.0.0/16 -j KUBE-MARK-MASQ",
    )
    key = lambda r: sorted((m.option, m.value.removesuffix("/32"), m.negated) for m in r.matches)  # noqa: E731
    assert key(saved) == key(rendered)
    assert saved.comment == "a b" and saved.match("-s").negated  # type: ignore[union-attr]
    masq = parse_rule("nat", "-A P -j MASQUERADE --random-fully")
    assert masq.target_options == (("--random-fully", ""),)
    dnat = parse_rule(
        "nat",
        "-A S -p tcp -m recent --set --name S --mask 255.255.255.255 --rsource -m tcp "
        "-j DNAT --to-destination 10.244.1.5:8080",
    )
    assert dnat.target_option("--to-destination") == "10.244.1.5:8080"
    assert dnat.match("--set") is not None and dnat.match("--name").value == "S"  # type: ignore[union-attr]
    with pytest.raises(RuleSyntaxError):
        parse_rule("nat", "-A X -s")


P = "-A PREROUTING"
NOT_MARKED = "-m mark ! --mark 0x4000/0x4000"


@pytest.mark.parametrize(
    ("lines", "verdict", "mark"),
    [
        ([f"{P} -j MARK --or-mark 0x4000"], "ACCEPT", 0x4000),
        (
            [f"{P} -j MARK --set-xmark 0x4000/0x4000", f"{P} -j MARK --set-xmark 0x4000/0x0"],
            "ACCEPT",
            0,
        ),
        ([f"{P} -j MARK --or-mark 0x4000", f"{P} {NOT_MARKED} -j DROP"], "ACCEPT", 0x4000),
        ([f"{P} {NOT_MARKED} -j DROP"], "DROP", 0),
        ([f"{P} -j C", f"{P} -j DROP", "-A C -j RETURN", "-A C -j ACCEPT"], "DROP", 0),
        ([f"{P} -g C", f"{P} -j DROP", "-A C -j RETURN"], "ACCEPT", 0),  # goto: no way back
        ([f"{P} -p udp -j DROP", f"{P} -p tcp --dport 81 -j DROP"], "ACCEPT", 0),
        ([f"{P} -m addrtype --dst-type LOCAL -j DROP"], "ACCEPT", 0),
        ([f"{P} -m conntrack --ctstate NEW -j REJECT"], "REJECT", 0),
    ],
)
def test_targets_and_matches(lines: list[str], verdict: str, mark: int) -> None:
    (branch,) = walk(parse(rules(*lines)), "nat", "PREROUTING", PACKET, ENV)
    assert (branch.verdict, branch.packet.mark) == (verdict, mark)


def test_a_chain_without_verdict_gets_the_policy() -> None:
    (branch,) = walk(
        parse(rules("-A PREROUTING -p udp -j ACCEPT", policy="DROP")),
        "nat",
        "PREROUTING",
        PACKET,
        ENV,
    )
    assert branch.verdict == "DROP"


def test_statistic_rules_split_the_walk_and_the_odds_add_up() -> None:
    text = rules(
        "-A PREROUTING -j SVC",
        "-A SVC -m statistic --mode random --probability 0.25 -j A",
        "-A SVC -m statistic --mode random --probability 0.5 -j B",
        "-A SVC -j C",
        "-A A -j DNAT --to-destination 10.0.0.1:1",
        "-A B -j DNAT --to-destination 10.0.0.2:2",
        "-A C -j DNAT --to-destination 10.0.0.3:3",
    )
    branches = walk(parse(text), "nat", "PREROUTING", PACKET, ENV)
    assert [(b.packet.destination, b.probability) for b in branches] == [
        ("10.0.0.1:1", 0.25),
        ("10.0.0.2:2", 0.375),
        ("10.0.0.3:3", 0.375),
    ]
    assert all(b.packet.dnat and b.verdict == "ACCEPT" for b in branches)


def test_unknown_matches_are_not_guessed_but_reported() -> None:
    text = rules("-A PREROUTING -m owner --uid-owner 0 -j DROP")
    (branch,) = walk(parse(text), "nat", "PREROUTING", PACKET, ENV)
    assert branch.verdict == "ACCEPT" and branch.unmodeled[0].text.endswith("--uid-owner 0 -j DROP")


def test_masquerade_takes_the_outgoing_address_and_redirect_a_local_port() -> None:
    text = rules("-A PREROUTING -j MASQUERADE", table="nat")
    (branch,) = walk(parse(text), "nat", "PREROUTING", PACKET, ENV)
    assert branch.packet.src == "172.18.0.2" and branch.packet.snat
    text = rules("-A PREROUTING -p tcp -j REDIRECT --to-ports 41234")
    (branch,) = walk(parse(text), "nat", "PREROUTING", PACKET, ENV)
    assert branch.packet.destination == "127.0.0.1:41234"


def test_rendered_rules_loaded_in_the_fake_kernel_walk_like_the_real_ones() -> None:
    kernel = FakeIptables()
    kernel.ensure_base()
    kernel.restore(scenario("affinity"))
    branches = walk(parse(kernel.save()), "nat", "PREROUTING", PACKET, ENV)
    assert sorted(b.packet.destination for b in branches) == ["10.244.1.5:8080", "10.244.2.5:8080"]
    assert [b.probability for b in branches] == pytest.approx([0.5, 0.5])
