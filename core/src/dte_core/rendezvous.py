"""Pre-flight of a multi-node rendezvous: fail in seconds, naming host and port, not hang."""

from __future__ import annotations

import socket
import time

from dte_core.errors import DteError


class RendezvousError(DteError):
    """Rank 0's rendezvous address does not resolve or does not answer."""

    exit_code = 1


def resolve(host: str, port: int) -> str:
    """The address of `host`, or an error that names it."""
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as exc:
        raise RendezvousError(
            f"Rank 0's host '{host}' (rendezvous port {port}) does not resolve from "
            f"{socket.gethostname()}: {exc.strerror}. Check the node names SLURM gives "
            f"(SLURM_JOB_NODELIST) and, on multi-homed nodes, the site's network_interface."
        ) from None


def wait_until_open(host: str, port: int, timeout_s: float = 30.0) -> None:
    """Connect to host:port until it answers or `timeout_s` passes."""
    address = resolve(host, port)
    deadline = time.monotonic() + timeout_s
    last: OSError | None = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=2):
                return
        except OSError as exc:
            last = exc
            time.sleep(0.5)
    raise RendezvousError(
        f"Rank 0 at {host}:{port} ({address}) did not answer within {timeout_s:.0f} s from "
        f"{socket.gethostname()} ({last}). The first node's launcher may have failed (see its "
        f"log), or a firewall or the wrong network interface blocks the port: set "
        f"network_interface in the site profile."
    )
