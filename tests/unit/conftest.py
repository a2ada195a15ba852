"""Unit tests run with sockets off: the core does no I/O, and these prove it."""

from __future__ import annotations

import socket

import pytest


class _SocketsDisabledError(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def _no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise _SocketsDisabledError("a unit test tried to open a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "bind", refuse)
