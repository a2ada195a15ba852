"""Package data: `openapi.json`, generated from the hand-written `openapi.yaml`.

The YAML at the top of the repository is the one source of truth; this JSON copy
is what the function ships (no YAML parser on the cold-start path). `make
contract` regenerates it and a test fails when the two drift.
"""
