"""The client layer: REST calls and informers, the only way components reach the API."""

from kubesvc.client.informer import Cache, Informer, key_of
from kubesvc.client.rest import Client, server_from_kubeconfig

__all__ = ["Cache", "Client", "Informer", "key_of", "server_from_kubeconfig"]
