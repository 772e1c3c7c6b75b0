"""Node lifecycle controller: pure health, glue in controller."""
