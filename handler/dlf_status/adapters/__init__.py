"""Adapters: the only code that talks to the outside (HTTP, S3, files, clock, environment)."""
