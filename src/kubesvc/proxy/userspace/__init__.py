"""kube-proxy's userspace mode: a round-robin balancer (pure), the portal rules (pure), the TCP
and UDP relays (I/O), the rule applier (I/O) and the proxier that ties them to the informers."""
