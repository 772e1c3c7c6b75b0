"""The node agent (the kubelet equivalent): pods as processes in their own network namespaces."""
