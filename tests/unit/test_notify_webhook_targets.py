"""Webhook egress: every wrapped form of an internal address is refused, a public one allowed, and the
request goes to the very address that was checked (no second resolution)."""

from __future__ import annotations

import ipaddress

import pytest
from standardwebhooks import Webhook

from services.notify.adapters import webhook_targets
from services.notify.adapters.webhooks import deliver, new_session
from services.notify.domain.webhook_secrets import create_secret
from services.notify.domain.webhook_targets import TargetRefused, blocked, pinned_url
from tests.support.hook_endpoint import HookEndpoint, LocalCA, mint_ca

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("address", "form"), [
    ("2002:a9fe:a9fe::1", "6to4 wrapping 169.254.169.254 (cloud metadata)"),
    ("2002:0a00:0001::1", "6to4 wrapping 10.0.0.1"),
    ("2002:7f00:0001::", "6to4 wrapping 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", "NAT64 well-known prefix wrapping 169.254.169.254"),
    ("64:ff9b::c0a8:0101", "NAT64 well-known prefix wrapping 192.168.1.1"),
    ("64:ff9b:1::5db8:d70e", "NAT64 local-use prefix (RFC 8215)"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:169.254.169.254", "IPv4-mapped link-local"),
    ("::ffff:100.64.0.1", "IPv4-mapped CGNAT"),
    ("::127.0.0.1", "IPv4-compatible loopback"),
    ("::10.0.0.1", "IPv4-compatible private"),
    ("::5db8:d70e", "IPv4-compatible (deprecated) even of a public address"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.20", "private"),
    ("169.254.169.254", "link-local"), ("100.64.1.1", "CGNAT (shared)"), ("0.0.0.0", "this network"),
    ("224.0.0.1", "multicast"), ("240.0.0.1", "reserved"), ("255.255.255.255", "broadcast"),
    ("198.18.0.1", "benchmarking"), ("192.0.2.1", "documentation"),
    ("::1", "IPv6 loopback"), ("::", "unspecified"), ("fe80::1", "IPv6 link-local"), ("fc00::1", "unique local"),
    ("fec0::1", "site-local"), ("ff02::1", "IPv6 multicast"), ("2001:db8::1", "IPv6 documentation"),
])
def test_every_internal_or_wrapped_internal_address_is_refused(address: str, form: str) -> None:
    assert blocked(ipaddress.ip_address(address)), form


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "::ffff:93.184.215.14",
                                     "2002:5db8:d70e::1", "64:ff9b::5db8:d70e"])
def test_a_public_address_or_one_wrapping_a_public_ipv4_is_allowed(address: str) -> None:
    assert not blocked(ipaddress.ip_address(address))


async def test_a_url_naming_a_wrapped_private_address_is_refused_with_the_rule() -> None:
    with pytest.raises(TargetRefused, match="non-public address 2002:a9fe:a9fe::1") as refused:
        await webhook_targets.validate_target(url="http://[2002:a9fe:a9fe::1]/hook")
    assert str(refused.value).startswith("url:") and "非公网" in refused.value.message_zh


async def test_a_name_with_any_internal_answer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    async def resolver(host: str, port: int) -> list:
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("::ffff:10.0.0.7")]

    monkeypatch.setattr(webhook_targets, "resolve_host", resolver)
    with pytest.raises(TargetRefused, match="non-public address ::ffff:a00:7"):  # ::ffff:10.0.0.7
        await webhook_targets.resolve_target(url="https://hooks.partner.example/in")


def test_the_pinned_url_keeps_path_query_and_port_and_names_the_host() -> None:
    assert pinned_url(url="https://hooks.partner.example/in?x=1", address=ipaddress.ip_address("93.184.215.14")) \
        == ("https://93.184.215.14/in?x=1", "hooks.partner.example")
    assert pinned_url(url="http://hooks.partner.example:8443/in", address=ipaddress.ip_address("2606:4700::1")) \
        == ("http://[2606:4700::1]:8443/in", "hooks.partner.example:8443")


NAME, OTHER = "hooks.partner.example", "other.partner.example"  # names no real DNS answers


@pytest.fixture(scope="module")
def local_ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return mint_ca(names=[NAME, OTHER], folder=tmp_path_factory.mktemp("ca"))


def rebinding(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """Replace the resolver with a DNS server answering each ask with the next address; returns who asked."""
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list:
        asked.append(host)
        return [ipaddress.ip_address(answers[min(len(asked), len(answers)) - 1])]

    monkeypatch.setattr(webhook_targets, "resolve_host", resolver)
    return asked


async def test_a_name_answering_elsewhere_after_the_check_is_sent_to_the_checked_address(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A rebinding DNS server: the checked address first, then the cloud metadata service. The name
    # resolves nowhere else either, so a request reaching the endpoint went to the checked address.
    asked = rebinding(monkeypatch, "127.0.0.1", "169.254.169.254")
    endpoint = await HookEndpoint().start()
    secret = create_secret()
    try:
        target = await webhook_targets.resolve_target(url=f"http://{NAME}:{endpoint.port}/in?x=1",
                                                      private_hosts=[NAME])
        attempt = await deliver(url=target.url, msg_id="msg_1", body=b'{"a":1}', secrets=[secret], timeout=5,
                                address=target.address)
    finally:
        await endpoint.stop()

    assert attempt.ok and attempt.status_code == 204 and asked == [NAME]  # resolved once, at the check
    [seen] = endpoint.requests
    assert seen.path == "/in?x=1" and seen.headers["host"] == f"{NAME}:{endpoint.port}"
    assert Webhook(secret).verify(seen.body, seen.headers) == {"a": 1}


async def test_https_to_the_checked_address_verifies_the_certificate_of_the_name(
        monkeypatch: pytest.MonkeyPatch, local_ca: LocalCA) -> None:
    rebinding(monkeypatch, "127.0.0.1")
    endpoint = await HookEndpoint().start(tls=local_ca.server)
    try:
        async with new_session(limit=4, ssl_context=local_ca.client_context()) as session:
            target = await webhook_targets.resolve_target(url=f"https://{NAME}:{endpoint.port}/in",
                                                          private_hosts=[NAME])
            attempt = await deliver(url=target.url, msg_id="msg_1", body=b"{}", secrets=[create_secret()],
                                    client=session, timeout=5, address=target.address)
            # The same address under a name its certificate does not carry: TLS refuses it.
            stranger = await deliver(url=f"https://stranger.example:{endpoint.port}/in", msg_id="msg_2", body=b"{}",
                                     secrets=[create_secret()], client=session, timeout=5, address=target.address)
    finally:
        await endpoint.stop()

    assert attempt.ok and endpoint.server_names == [NAME, "stranger.example"]  # SNI carried each name
    assert [r.headers["host"] for r in endpoint.requests] == [f"{NAME}:{endpoint.port}"]
    assert not stranger.ok and stranger.status_code is None and "certificate" in (stranger.error or "")


async def test_two_names_on_one_address_never_share_a_tls_connection(local_ca: LocalCA) -> None:
    endpoint = await HookEndpoint().start(tls=local_ca.server)
    address = ipaddress.ip_address("127.0.0.1")
    try:
        async with new_session(limit=4, ssl_context=local_ca.client_context()) as session:
            attempts = [await deliver(url=f"https://{name}:{endpoint.port}/in", msg_id=f"msg_{n}", body=b"{}",
                                      secrets=[create_secret()], client=session, timeout=5, address=address)
                        for n, name in enumerate([NAME, OTHER, NAME])]
    finally:
        await endpoint.stop()

    assert all(a.ok for a in attempts)
    # One handshake per name; the third POST reuses the first name's connection, not the other's.
    assert endpoint.server_names == [NAME, OTHER]
    first, other, again = (r.peer_port for r in endpoint.requests)
    assert first == again != other


async def test_a_redirect_is_not_followed_and_counts_as_a_failure() -> None:
    endpoint = await HookEndpoint(status=302).start()
    # Redirected to the endpoint itself: a followed redirect would show there as a second request.
    endpoint.headers["location"] = f"http://127.0.0.1:{endpoint.port}/latest/meta-data"
    try:
        attempt = await deliver(url=f"http://{NAME}:{endpoint.port}/in", msg_id="msg_2", body=b"{}",
                                secrets=[create_secret()], timeout=5, address=ipaddress.ip_address("127.0.0.1"))
    finally:
        await endpoint.stop()

    assert not attempt.ok and attempt.status_code == 302 and attempt.error == "HTTP 302"
    assert [r.path for r in endpoint.requests] == ["/in"]


async def test_only_the_hosts_named_in_the_private_list_may_resolve_to_a_private_address(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def resolver(host: str, port: int) -> list:
        return [ipaddress.ip_address("10.0.0.7")]

    monkeypatch.setattr(webhook_targets, "resolve_host", resolver)
    allowed = ["Relay.Partner.Example"]
    target = await webhook_targets.resolve_target(url="https://relay.partner.example/in", private_hosts=allowed)
    assert str(target.address) == "10.0.0.7"  # names compare without case
    with pytest.raises(TargetRefused, match="non-public address 10.0.0.7"):
        await webhook_targets.resolve_target(url="https://hooks.partner.example/in", private_hosts=allowed)
    with pytest.raises(TargetRefused, match="non-public address 127.0.0.1"):
        await webhook_targets.resolve_target(url="http://127.0.0.1:8080/in", private_hosts=allowed)
