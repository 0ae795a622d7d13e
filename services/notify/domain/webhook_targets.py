"""Check that a webhook subscription URL points at a public http(s) endpoint."""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class TargetRefused(ValueError):
    """The URL breaks a rule; message names the field and the rule, message_zh says it in Chinese."""

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(f"url: {message}")
        self.message_zh = f"url：{message_zh}"


def _blocked(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # is_global alone misses multicast; together they cover loopback, private, link-local,
    # shared (100.64/10), documentation and reserved ranges.
    return not address.is_global or address.is_multicast or address.is_reserved


async def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"host {host!r} does not resolve", f"主机 {host!r} 无法解析") from exc
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


async def validate_target(*, url: str, allow_private: bool = False) -> str:
    """Return the URL if deliverable, else raise TargetRefused; call at subscribe and before each send."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("must use http or https", "必须使用 http 或 https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise TargetRefused("must not contain credentials (user:password@)", "不得包含用户名或密码")
    try:
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("has an invalid port", "端口无效") from exc
    if not host:
        raise TargetRefused("must name a host", "必须包含主机名")
    addresses = await _resolve(host, port)
    if not allow_private:
        blocked = sorted({str(a) for a in addresses if _blocked(a)})
        if blocked:
            # Refuse if any answer is internal: the client may pick that one when it connects.
            raise TargetRefused(f"host {host!r} resolves to non-public address {', '.join(blocked)}",
                                f"主机 {host!r} 解析到非公网地址 {', '.join(blocked)}")
    return url.strip()
