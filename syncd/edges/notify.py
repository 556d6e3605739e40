"""The systemd notify protocol (sd_notify(3)) in plain Python, for `syncd run`
(README "Running under systemd").

Under a `Type=notify` unit, systemd passes the path of a datagram socket in `$NOTIFY_SOCKET`;
the daemon tells it how it is doing by sending newline-separated `KEY=value` lines there:
`READY=1` once the startup scan is done, `STATUS=...` with the last sync result, `WATCHDOG=1`
at half the `WatchdogSec=` period while healthy, `STOPPING=1` on the way out.

This needs no compiled dependency (no libsystemd, no python-systemd) and never gets in the
daemon's way: outside systemd (`$NOTIFY_SOCKET` unset) every call is a no-op that returns
False, and a socket error is logged at debug level and returns False instead of raising.
Every function takes the environment as a parameter, so tests and the daemon can pass their own.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("syncd.notify")

#: How long one send may block. A datagram to systemd is queued at once; only a service manager
#: that stopped reading could make it wait, and the daemon must not hang with it.
SEND_TIMEOUT = 2.0


def notify(message: str, env: Mapping[str, str] = os.environ) -> bool:
    """Given a message such as "READY=1\\nSTATUS=...", send it as one datagram to
    `$NOTIFY_SOCKET` in `env`. Return True if it was sent; False, without raising, if the
    variable is unset or empty, names an address this module does not speak, or the send fails.
    """
    address = _socket_address(env.get("NOTIFY_SOCKET", ""))
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(SEND_TIMEOUT)
            sock.connect(address)
            sock.sendall(message.encode("utf-8", "replace"))
    except (OSError, ValueError) as error:  # ValueError: a path with a NUL byte in it
        log.debug("could not notify systemd at %r: %s", env.get("NOTIFY_SOCKET"), error)
        return False
    return True


def ready(status: str | None = None, env: Mapping[str, str] = os.environ) -> bool:
    """Tell systemd the daemon has started (after the startup scan), with an optional status
    line. Return whether the message was sent."""
    return notify(_with_status("READY=1", status), env)


def status(text: str, env: Mapping[str, str] = os.environ) -> bool:
    """Set the one-line status `systemctl status` shows (e.g. the last sync's summary). Return
    whether the message was sent."""
    return notify(_status_line(text), env)


def watchdog(env: Mapping[str, str] = os.environ) -> bool:
    """Send the keep-alive ping; call it every `watchdog_interval(env)` seconds while healthy.
    Return whether the message was sent."""
    return notify("WATCHDOG=1", env)


def reloading(status: str | None = None, env: Mapping[str, str] = os.environ) -> bool:
    """Tell systemd the daemon is re-reading its config (SIGHUP); send `ready()` once done.
    Return whether the message was sent."""
    return notify(_with_status("RELOADING=1", status), env)


def stopping(status: str | None = None, env: Mapping[str, str] = os.environ) -> bool:
    """Tell systemd the daemon is shutting down (SIGTERM/SIGINT). Return whether the message
    was sent."""
    return notify(_with_status("STOPPING=1", status), env)


def watchdog_interval(env: Mapping[str, str] = os.environ) -> float | None:
    """Given the environment, return how often to send `WATCHDOG=1`, in seconds: half of
    `$WATCHDOG_USEC`, as sd_watchdog_enabled(3) advises. Return None when no watchdog is
    expected of this process: the variable is unset or not a positive integer, or
    `$WATCHDOG_PID` is set and names another process (the variable was inherited)."""
    usec = _positive_int(env.get("WATCHDOG_USEC", ""))
    if usec is None:
        return None
    pid_text = env.get("WATCHDOG_PID", "")
    if pid_text and _positive_int(pid_text) != os.getpid():
        return None
    return usec / 2_000_000


class Notifier:
    """The notify protocol bound to one environment (by default the process's, read once).

    The daemon makes one at start-up and calls its methods; outside systemd they do nothing.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        source = os.environ if env is None else env
        # A snapshot: what systemd handed this process, unaffected by later changes.
        self.env: Mapping[str, str] = dict(source)

    @property
    def enabled(self) -> bool:
        """Whether a service manager is listening (`$NOTIFY_SOCKET` is set)."""
        return bool(self.env.get("NOTIFY_SOCKET"))

    def watchdog_interval(self) -> float | None:
        """Seconds between `watchdog()` calls, or None when systemd expects none."""
        return watchdog_interval(self.env)

    def notify(self, message: str) -> bool:
        """Send a raw message; see `notify`."""
        return notify(message, self.env)

    def ready(self, status: str | None = None) -> bool:
        """Send READY=1 (and STATUS=); see `ready`."""
        return ready(status, self.env)

    def status(self, text: str) -> bool:
        """Send STATUS=; see `status`."""
        return status(text, self.env)

    def watchdog(self) -> bool:
        """Send WATCHDOG=1; see `watchdog`."""
        return watchdog(self.env)

    def reloading(self, status: str | None = None) -> bool:
        """Send RELOADING=1 (and STATUS=); see `reloading`."""
        return reloading(status, self.env)

    def stopping(self, status: str | None = None) -> bool:
        """Send STOPPING=1 (and STATUS=); see `stopping`."""
        return stopping(status, self.env)


def _socket_address(value: str) -> bytes | None:
    """Given `$NOTIFY_SOCKET`, return the AF_UNIX address to send to, or None if there is none.

    A leading "@" names a socket in Linux's abstract namespace, written with a NUL byte. Other
    forms (systemd 253+ also accepts "vsock:CID:PORT", for virtual machines) are not for a user
    daemon; they are left alone.
    """
    if value.startswith("@"):
        return b"\0" + os.fsencode(value[1:])
    if value.startswith("/"):
        return os.fsencode(value)
    if value:
        log.debug("ignoring NOTIFY_SOCKET %r: not a path or an abstract socket name", value)
    return None


def _with_status(first_line: str, text: str | None) -> str:
    return first_line if text is None else f"{first_line}\n{_status_line(text)}"


def _status_line(text: str) -> str:
    # The protocol is one assignment per line: a newline inside a status (say, from a book
    # title) would end it and could smuggle in another assignment, so it becomes a space.
    return "STATUS=" + " ".join(text.splitlines())


def _positive_int(text: str) -> int | None:
    # Plain decimal digits only, as systemd writes them (int() would also take "1_0" or "+1").
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number > 0 else None
