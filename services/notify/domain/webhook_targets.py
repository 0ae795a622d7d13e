"""The rules a webhook subscription URL must meet: public http(s), no credentials, no internal address."""

import ipaddress
from urllib.parse import urlsplit, urlunsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d (RFC 4291 §2.5.5.1)
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address in the last 32 bits
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a local-use translator, never public
_TEREDO = ipaddress.ip_network("2001::/32")  # RFC 4380: a tunnel to whatever stands behind a NAT


class TargetRefused(ValueError):
    """The URL breaks a rule; message names the field and the rule, message_zh says it in Chinese."""

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(f"url: {message}")
        self.message_zh = f"url：{message_zh}"


def _blocked_v4(address: ipaddress.IPv4Address) -> bool:
    # is_global alone misses multicast; together they cover loopback, private, link-local,
    # shared (100.64/10, CGNAT), this-network, documentation, broadcast and reserved ranges.
    return not address.is_global or address.is_multicast or address.is_reserved


def embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address wraps (IPv4-mapped, IPv4-compatible, 6to4, NAT64), else None."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64_WELL_KNOWN or (address in _V4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def blocked(address: Address) -> bool:
    """True for an address a webhook may not reach: internal itself, or wrapping an internal IPv4 address."""
    if isinstance(address, ipaddress.IPv4Address):
        return _blocked_v4(address)
    if address in _NAT64_LOCAL or address in _TEREDO or address in _V4_COMPATIBLE:
        # Teredo's client address is what a NAT let through; ::a.b.c.d is deprecated and routes nowhere
        # public; a local-use NAT64 prefix reaches the operator's own IPv4 network.
        return True
    inner = embedded_v4(address)
    if inner is not None:
        return _blocked_v4(inner)
    return not address.is_global or address.is_multicast or address.is_reserved or address.is_site_local


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
    if not addresses:
        raise TargetRefused(f"host {host!r} does not resolve", f"主机 {host!r} 无法解析")
    if allow_private:
        return
    refused = sorted({str(a) for a in addresses if blocked(a)})
    if refused:
        # Refuse if any answer is internal: a later resolution could pick that one.
        raise TargetRefused(f"host {host!r} resolves to non-public address {', '.join(refused)}",
                            f"主机 {host!r} 解析到非公网地址 {', '.join(refused)}")


def pinned_url(*, url: str, address: Address) -> tuple[str, str]:
    """The URL with its host replaced by the checked address, and the Host header the name needs.

    The request then goes to the very address that was checked (no second resolution, so no DNS
    rebinding window); TLS still verifies the certificate of the name (SNI set by the caller)."""
    parts = urlsplit(url.strip())
    literal = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    default = 443 if parts.scheme == "https" else 80
    netloc = literal if parts.port in (None, default) else f"{literal}:{parts.port}"
    host = parts.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if parts.port in (None, default) else f"{shown}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), host_header
