"""The controller manager: controllers that talk to the API only through `kubesvc.client`."""
