"""Check a webhook URL where it points now: resolve its host once (DNS) and apply the target rules."""

import asyncio
import ipaddress
import socket
from collections.abc import Collection
from dataclasses import dataclass

from services.notify.domain.webhook_targets import Address, TargetRefused, check_addresses, literal_address, target_of


@dataclass(frozen=True)
class Target:
    """A checked URL and the address to connect to: one of those its host resolved to when checked."""

    url: str
    host: str
    port: int
    address: Address


async def resolve_host(host: str, port: int) -> list[Address]:
    """Every address a host resolves to now (the one resolver of webhook egress; tests replace it)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"host {host!r} does not resolve", f"主机 {host!r} 无法解析") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def resolve_target(*, url: str, allow_private: bool = False, private_hosts: Collection[str] = ()) -> Target:
    """Resolve the URL's host once, check every address, and name the one to connect to.

    The sender connects to `address` itself (see adapters.webhooks.deliver), never to the name, so a
    DNS answer that changes after the check (rebinding) cannot send the request elsewhere."""
    host, port = target_of(url=url)
    literal = literal_address(host)
    addresses = [literal] if literal is not None else await resolve_host(host, port)
    allowed = allow_private or host.lower() in {h.lower() for h in private_hosts}
    check_addresses(host=host, addresses=addresses, allow_private=allowed)
    return Target(url=url.strip(), host=host, port=port, address=addresses[0])


async def validate_target(*, url: str, allow_private: bool = False, private_hosts: Collection[str] = ()) -> str:
    """Return the URL if deliverable, else raise TargetRefused (at subscribe and on a change of URL)."""
    return (await resolve_target(url=url, allow_private=allow_private, private_hosts=private_hosts)).url
