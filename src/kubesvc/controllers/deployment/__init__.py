"""Deployment controller: pure util/scaling/progress/planner, glue in controller."""
