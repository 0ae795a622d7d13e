"""Ports handed to the processes the embedded default starts: free, and outside the range the
system takes outgoing connections' local ports from, so no connection takes one before its process
binds it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from shared.runtime import ports
from shared.runtime.embedded import free_port

pytestmark = pytest.mark.unit


def test_a_port_is_free_and_below_the_range_of_outgoing_connections(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "range").write_text("32768\t60999\n")
    monkeypatch.setattr(ports, "_RANGE", tmp_path / "range")
    chosen = {free_port() for _ in range(20)}
    assert all(ports.LOWEST <= port < 32768 for port in chosen)
    assert len(chosen) > 1  # picked at random, so two processes starting at once rarely meet
    for port in chosen:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # nothing listens there


@pytest.mark.parametrize("content", ["", "1024\t65535\n"])
def test_without_room_below_the_range_any_free_port_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             content: str) -> None:
    (tmp_path / "range").write_text(content)  # unreadable, or a range starting too low
    monkeypatch.setattr(ports, "_RANGE", tmp_path / "range")
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
