"""SSRF guard: only http(s), every resolved address must be public or explicitly allowed."""
from __future__ import annotations

import ipaddress

import pytest

from moderation.webhooks.ssrf import UnsafeUrl, is_allowed, resolve_target, system_resolver

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


def fixed(*addresses):
    calls = []

    def resolver(host, port):
        calls.append(host)
        return list(addresses)

    resolver.calls = calls
    return resolver


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://127.1/", "http://2130706433/", "http://0x7f.1/", "http://[::1]/",
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://172.16.3.4/", "http://192.168.1.1/",
    "http://[fc00::1]/", "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://100.64.0.1/",
])
def test_non_public_literal_addresses_are_refused(url):
    # Literal addresses only: the system resolver answers them without any DNS traffic.
    with pytest.raises(UnsafeUrl):
        resolve_target(url, (), system_resolver)


@pytest.mark.parametrize("url", ["ftp://example.org/", "file:///etc/passwd", "http:///nohost", "http://u:p@example.org/",
                                 "gopher://example.org/", "http://example.org:99999/"])
def test_only_plain_http_and_https_urls(url):
    with pytest.raises(UnsafeUrl):
        resolve_target(url, (), fixed("93.184.215.14"))


def test_loopback_is_allowed_only_when_listed():
    assert not is_allowed("127.0.0.1", ())
    assert is_allowed("127.0.0.1", LOOPBACK)
    assert is_allowed("::ffff:127.0.0.1", LOOPBACK)
    assert not is_allowed("10.1.2.3", LOOPBACK)
    target = resolve_target("http://127.0.0.1:8081/hook?x=1", LOOPBACK, system_resolver)
    assert (target.ip, target.port, target.path) == ("127.0.0.1", 8081, "/hook?x=1")


def test_public_name_resolves_once_to_the_address_used():
    resolver = fixed("93.184.215.14")
    target = resolve_target("https://hooks.example/in", (), resolver)
    assert (target.scheme, target.host, target.port, target.ip) == ("https", "hooks.example", 443, "93.184.215.14")
    assert resolver.calls == ["hooks.example"]


def test_a_name_answering_public_and_private_addresses_is_refused():
    # A rebinding DNS answers a public address next to a private one, hoping the client picks the latter.
    with pytest.raises(UnsafeUrl):
        resolve_target("https://hooks.example/", (), fixed("93.184.215.14", "10.0.0.7"))


def test_a_name_that_turns_private_on_a_later_resolution_is_refused_then():
    answers = iter([["93.184.215.14"], ["169.254.169.254"]])

    def rebinding(host, port):
        return next(answers)

    assert resolve_target("https://hooks.example/", (), rebinding).ip == "93.184.215.14"
    with pytest.raises(UnsafeUrl):
        resolve_target("https://hooks.example/", (), rebinding)
