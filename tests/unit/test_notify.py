"""The systemd notify protocol (`syncd.edges.notify`) against a real AF_UNIX datagram socket.

Each test binds the socket systemd would own (a path in tmp_path, or a name in the abstract
namespace) and passes `NOTIFY_SOCKET` in an env mapping, never through os.environ. Receiving
uses a socket timeout, so a message that never arrives fails the test instead of hanging it;
"nothing more was sent" is a non-blocking read, which is exact because an AF_UNIX datagram is
queued before the sender's call returns.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.edges import notify
from syncd.edges.notify import Notifier

RECEIVE_TIMEOUT = 5.0  # seconds; generous, a datagram normally arrives at once


class Receiver:
    """The service manager's end: a bound datagram socket and the NOTIFY_SOCKET naming it."""

    def __init__(self, sock: socket.socket, notify_socket: str) -> None:
        self.sock = sock
        self.env = {"NOTIFY_SOCKET": notify_socket}

    def receive(self) -> bytes:
        """Return the next datagram, failing the test if none comes within the timeout."""
        self.sock.settimeout(RECEIVE_TIMEOUT)
        try:
            return self.sock.recv(65536)
        except TimeoutError:
            pytest.fail(f"no datagram within {RECEIVE_TIMEOUT} s")

    def assert_nothing_more(self) -> None:
        self.sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            self.sock.recv(65536)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    path = tmp_path / "notify"
    if len(os.fsencode(path)) >= 100:  # sun_path holds 108 bytes; pytest paths can be long
        pytest.skip(f"tmp_path too long for an AF_UNIX socket: {path}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(os.fspath(path))
        yield Receiver(sock, os.fspath(path))


@pytest.fixture
def abstract_receiver() -> Iterator[Receiver]:
    name = f"syncd-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        yield Receiver(sock, "@" + name)


# --------------------------------------------------------------------------------------------
# Messages, byte for byte
# --------------------------------------------------------------------------------------------


def test_ready_with_status(receiver: Receiver) -> None:
    assert notify.ready("Synced 3 pages", env=receiver.env) is True
    assert receiver.receive() == b"READY=1\nSTATUS=Synced 3 pages"
    receiver.assert_nothing_more()


def test_ready_alone(receiver: Receiver) -> None:
    assert notify.ready(env=receiver.env) is True
    assert receiver.receive() == b"READY=1"


def test_status(receiver: Receiver) -> None:
    assert notify.status("12 new highlights in 3 pages", env=receiver.env) is True
    assert receiver.receive() == b"STATUS=12 new highlights in 3 pages"


def test_status_is_utf8(receiver: Receiver) -> None:
    assert notify.status("Synced “Süß” — 1 page", env=receiver.env) is True
    assert receiver.receive() == "STATUS=Synced “Süß” — 1 page".encode()


def test_a_newline_in_a_status_cannot_add_an_assignment(receiver: Receiver) -> None:
    assert notify.status("Book\nMAINPID=1", env=receiver.env) is True
    assert receiver.receive() == b"STATUS=Book MAINPID=1"


def test_watchdog(receiver: Receiver) -> None:
    assert notify.watchdog(env=receiver.env) is True
    assert receiver.receive() == b"WATCHDOG=1"
    receiver.assert_nothing_more()


def test_stopping(receiver: Receiver) -> None:
    assert notify.stopping(env=receiver.env) is True
    assert receiver.receive() == b"STOPPING=1"


def test_stopping_and_reloading_with_status(receiver: Receiver) -> None:
    assert notify.reloading("Reloading the config", env=receiver.env) is True
    assert notify.stopping("Finishing the current page", env=receiver.env) is True
    assert receiver.receive() == b"RELOADING=1\nSTATUS=Reloading the config"
    assert receiver.receive() == b"STOPPING=1\nSTATUS=Finishing the current page"


def test_abstract_namespace_socket(abstract_receiver: Receiver) -> None:
    assert notify.ready("up", env=abstract_receiver.env) is True
    assert notify.watchdog(env=abstract_receiver.env) is True
    assert notify.stopping(env=abstract_receiver.env) is True
    assert abstract_receiver.receive() == b"READY=1\nSTATUS=up"
    assert abstract_receiver.receive() == b"WATCHDOG=1"
    assert abstract_receiver.receive() == b"STOPPING=1"
    abstract_receiver.assert_nothing_more()


# --------------------------------------------------------------------------------------------
# Nothing to send to: False, never an exception
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", [{}, {"NOTIFY_SOCKET": ""}], ids=["unset", "empty"])
def test_without_a_socket_nothing_is_sent(env: dict[str, str]) -> None:
    assert notify.notify("READY=1", env=env) is False
    assert notify.ready("up", env=env) is False
    assert notify.status("x", env=env) is False
    assert notify.watchdog(env=env) is False
    assert notify.stopping(env=env) is False


def test_a_socket_path_that_does_not_exist(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {"NOTIFY_SOCKET": os.fspath(tmp_path / "gone")}
    with caplog.at_level(logging.DEBUG, logger="syncd.notify"):
        assert notify.ready(env=env) is False
    assert "could not notify systemd" in caplog.text


def test_a_path_that_is_not_a_socket(tmp_path: Path) -> None:
    plain_file = tmp_path / "plain"
    plain_file.write_text("")
    assert notify.watchdog(env={"NOTIFY_SOCKET": os.fspath(plain_file)}) is False


def test_an_abstract_name_nobody_listens_on() -> None:
    env = {"NOTIFY_SOCKET": f"@syncd-test-nobody-{uuid.uuid4().hex}"}
    assert notify.stopping(env=env) is False


def test_a_socket_path_too_long_for_af_unix() -> None:
    assert notify.watchdog(env={"NOTIFY_SOCKET": "/" + "x" * 200}) is False


def test_an_address_that_is_not_a_path() -> None:
    assert notify.ready(env={"NOTIFY_SOCKET": "vsock:2:1234"}) is False


# --------------------------------------------------------------------------------------------
# The watchdog period
# --------------------------------------------------------------------------------------------


def test_no_watchdog_without_watchdog_usec() -> None:
    assert notify.watchdog_interval({}) is None
    assert notify.watchdog_interval({"WATCHDOG_PID": str(os.getpid())}) is None


def test_watchdog_period_is_half_the_timeout() -> None:
    assert notify.watchdog_interval({"WATCHDOG_USEC": "300000000"}) == 150.0
    assert notify.watchdog_interval({"WATCHDOG_USEC": "1000"}) == 0.0005


def test_watchdog_for_this_process() -> None:
    env = {"WATCHDOG_USEC": "300000000", "WATCHDOG_PID": str(os.getpid())}
    assert notify.watchdog_interval(env) == 150.0


def test_no_watchdog_when_it_is_meant_for_another_process() -> None:
    other = os.getppid()
    assert other != os.getpid()
    env = {"WATCHDOG_USEC": "300000000", "WATCHDOG_PID": str(other)}
    assert notify.watchdog_interval(env) is None


@pytest.mark.parametrize("usec", ["", "0", "-5", "abc", "1.5", "1_000", "+100"])
def test_no_watchdog_for_a_bad_watchdog_usec(usec: str) -> None:
    assert notify.watchdog_interval({"WATCHDOG_USEC": usec}) is None


def test_no_watchdog_for_a_bad_watchdog_pid() -> None:
    assert notify.watchdog_interval({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "x"}) is None


# --------------------------------------------------------------------------------------------
# Notifier: the same, bound to one environment
# --------------------------------------------------------------------------------------------


def test_notifier_sends_every_message(receiver: Receiver) -> None:
    notifier = Notifier(receiver.env)
    assert notifier.enabled
    assert notifier.ready("Watching ~/notes") is True
    assert notifier.status("Last sync: 2 new highlights") is True
    assert notifier.watchdog() is True
    assert notifier.reloading() is True
    assert notifier.stopping() is True
    assert notifier.notify("EXTEND_TIMEOUT_USEC=5000000") is True
    assert [receiver.receive() for _ in range(6)] == [
        b"READY=1\nSTATUS=Watching ~/notes",
        b"STATUS=Last sync: 2 new highlights",
        b"WATCHDOG=1",
        b"RELOADING=1",
        b"STOPPING=1",
        b"EXTEND_TIMEOUT_USEC=5000000",
    ]
    receiver.assert_nothing_more()


def test_notifier_outside_systemd_does_nothing() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.watchdog_interval() is None
    assert notifier.ready("up") is False
    assert notifier.watchdog() is False
    assert notifier.stopping() is False


def test_notifier_keeps_a_snapshot_of_its_environment(receiver: Receiver) -> None:
    env = dict(receiver.env, WATCHDOG_USEC="4000000", WATCHDOG_PID=str(os.getpid()))
    notifier = Notifier(env)
    env.clear()
    assert notifier.enabled
    assert notifier.watchdog_interval() == 2.0
    assert notifier.watchdog() is True
    assert receiver.receive() == b"WATCHDOG=1"


def test_notifier_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "10000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier()
    assert notifier.watchdog_interval() == 5.0
    assert not notifier.enabled
