"""ReplicaSet controller: pure plan, glue in controller."""
