"""The rules a webhook subscription URL must meet: public http(s), no credentials, no internal address."""

import ipaddress
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """The URL breaks a rule; message names the field and the rule, message_zh says it in Chinese."""

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(f"url: {message}")
        self.message_zh = f"url：{message_zh}"


def _blocked(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # is_global alone misses multicast; together they cover loopback, private, link-local,
    # shared (100.64/10), documentation and reserved ranges.
    return not address.is_global or address.is_multicast or address.is_reserved


def target_of(*, url: str) -> tuple[str, int]:
    """The host and port a URL names, or TargetRefused for a scheme, credentials or port it may not have."""
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
    return host, port


def literal_address(host: str) -> Address | None:
    """The address a host names literally (an IP), else None: it has to be resolved."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_addresses(*, host: str, addresses: list[Address], allow_private: bool) -> None:
    """Raise TargetRefused if any address the host resolves to is not public (unless allowed)."""
    if allow_private:
        return
    blocked = sorted({str(a) for a in addresses if _blocked(a)})
    if blocked:
        # Refuse if any answer is internal: the client may pick that one when it connects.
        raise TargetRefused(f"host {host!r} resolves to non-public address {', '.join(blocked)}",
                            f"主机 {host!r} 解析到非公网地址 {', '.join(blocked)}")
