"""S13: the suite's own rules are in force in every test (pyproject.toml's pytest config)."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketConnectBlockedError

from tests.deadline import seconds_left


def test_a_test_reaches_loopback_only() -> None:
    with pytest.warns(UserWarning, match="192.0.2.1"), pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1: never routed
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=1):
            pass


def test_each_test_has_60_seconds(request: pytest.FixtureRequest) -> None:
    assert float(request.config.getini("timeout")) == 60
    assert request.config.getoption("disable_socket") is True


def test_a_wait_without_a_deadline_of_its_own_ends_before_the_tests_timeout() -> None:
    # 60 s less the 15 s kept for failing with a message and cleaning up; seconds have passed
    # since the timer started (setup), never a minute.
    assert 0 < seconds_left() <= 45


@pytest.mark.timeout(300)
def test_a_longer_timeout_gives_a_wait_longer() -> None:
    assert 200 < seconds_left() <= 270  # 300 less a tenth of it
