"""`kubesvc trace`: what the kernel does with a new connection, step by step, from the real rules.

Layers, pure first: `ruleset` parses `iptables-save` output; `netfilter` walks a packet through
one chain (branching where `-m statistic` picks at random); `network` holds the nodes' addresses,
routes and rules and the pods; `path` follows the packet through hooks, routing and hops between
nodes; `explain` turns each walk into steps in words; `report` prints them (text or JSON).
`gather` is the only I/O: it reads the live cluster and runs the rest.
"""
