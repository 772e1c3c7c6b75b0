"""Endpoints controller: pure subsets, glue in controller."""
