"""kube-proxy: Services and EndpointSlices turned into packet rules, one subpackage per mode."""
