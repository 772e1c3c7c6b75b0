"""Cluster DNS: the Kubernetes DNS specification served like CoreDNS's `kubernetes` plugin.

Layers: `view` (objects cut down, indexes) and `records` (question → answer) are pure;
`cache`, `metrics` and `handler` (bytes in, bytes or "ask upstream" out) are sans-I/O;
`forwarder` and `server` own the sockets; `run` wires informers, view, handler and server
for `kubesvc dns` (`kubesvc.dns.run.run(client, DnsOptions(...))`).
"""
