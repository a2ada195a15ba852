"""dlf-status: a status proxy for Huawei Cloud DataArts Studio real-time jobs."""

__version__ = "0.1.0"
