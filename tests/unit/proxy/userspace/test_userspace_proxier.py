"""`kubesvc rules --mode userspace`: the rules of a live node, its proxy ports read back from
that node's `iptables-save`."""

from __future__ import annotations

from test_userspace_render import HTTP, service

from kubesvc.proxy.userspace.proxier import rules_for_node

SAVED = """\
*nat
:KUBE-PORTALS-CONTAINER - [0:0]
-A KUBE-PORTALS-CONTAINER -d 10.96.0.10/32 -p tcp -m comment --comment "default/myapp:http" \
-m tcp --dport 80 -j REDIRECT --to-ports 38303
COMMIT
"""


def test_live_proxy_ports_are_used_and_unopened_service_ports_listed() -> None:
    services = [
        service("myapp", "10.96.0.10", HTTP),
        service("late", "10.96.0.11", HTTP),
        service("headless", "None", HTTP),
    ]
    text = rules_for_node(services, [], "node-2", "172.18.0.3", SAVED)
    lines = text.splitlines()
    assert lines[0] == "# default/late:http (TCP): no proxy port open on node-2"
    assert (
        "-A KUBE-PORTALS-HOST -d 10.96.0.10/32 -p tcp -m comment --comment "
        '"default/myapp:http" -m tcp --dport 80 -j DNAT --to-destination 172.18.0.3:38303'
    ) in lines
    assert not any("10.96.0.11" in line for line in lines if line.startswith("-A"))
    assert not any("headless" in line for line in lines)
