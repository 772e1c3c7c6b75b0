"""EndpointSlice controller: pure reconciler, glue in controller."""
