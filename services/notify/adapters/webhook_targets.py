"""Check a webhook URL where it points now: resolve its host (DNS) and apply the target rules."""

import asyncio
import ipaddress
import socket

from services.notify.domain.webhook_targets import (Address, TargetRefused, check_addresses, literal_address,
                                                    target_of)


async def _resolve(host: str, port: int) -> list[Address]:
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"host {host!r} does not resolve", f"主机 {host!r} 无法解析") from exc
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


async def validate_target(*, url: str, allow_private: bool = False) -> str:
    """Return the URL if deliverable, else raise TargetRefused; call at subscribe and before each send."""
    host, port = target_of(url=url)
    addresses = await _resolve(host, port)
    check_addresses(host=host, addresses=addresses, allow_private=allow_private)
    return url.strip()
