"""Scheduler: pure placement, glue in controller."""
