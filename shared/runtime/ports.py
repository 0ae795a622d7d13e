"""Free ports for the processes the embedded default and the tests start.

A port is chosen here and bound by a child seconds later, once it has started. A port from the
range the system gives outgoing connections their local ports from (`ip_local_port_range`, where
binding port 0 also picks) can meanwhile become the local port of some connection to a store or
the broker, and the child then fails to bind it (seen in a test run: a service exiting with
"address already in use"). So ports are picked below that range, where only a listener takes them.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

#: The lowest port handed out; below it lie the well-known and registered services' defaults.
LOWEST = 20_000
_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _first_ephemeral() -> int:
    """The first port of the system's range for outgoing connections (0 where it cannot be read)."""
    try:
        return int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, below the system's range for
    outgoing connections when there is room (else any free port the system picks)."""
    below = _first_ephemeral()
    if below > LOWEST + 1_000:
        for _ in range(100):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", random.randrange(LOWEST, below)))
                except OSError:  # taken: try another
                    continue
                return int(s.getsockname()[1])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
