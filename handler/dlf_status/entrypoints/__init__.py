"""Thin entry points: parse the input, call the service, map errors. Nothing else."""
