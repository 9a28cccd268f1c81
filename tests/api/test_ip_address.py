"""The IP shortcut gives what ipaddress gives: the same canonical text, or the same refusal."""
from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.api.ip_address import normalised_ip


def ipaddress_says(value: str):
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return "refused"


def ours(value: str):
    try:
        return normalised_ip(value)
    except ValueError:
        return "refused"


addresses = st.ip_addresses()
# The same address written the ways a proxy or a plugin might: expanded, upper case, zero-padded.
spellings = st.one_of(
    addresses.map(str), addresses.map(lambda ip: ip.exploded), addresses.map(lambda ip: ip.exploded.upper()),
    st.ip_addresses(v=4).map(lambda ip: ".".join(f"{int(part):03d}" for part in str(ip).split("."))),
    st.ip_addresses(v=4).map(lambda ip: f"::ffff:{ip}"), st.ip_addresses(v=4).map(lambda ip: f"::{ip}"),
    st.ip_addresses(v=6).map(lambda ip: f"{ip}%eth0"),
    st.text(alphabet="0123456789abcdefABCDEF:.%", max_size=45), st.text(max_size=20),
)


@settings(max_examples=3000, deadline=None)
@given(value=spellings)
def test_the_shortcut_agrees_with_ipaddress(value):
    assert ours(value) == ipaddress_says(value)


@pytest.mark.parametrize("value, expected", [
    ("2001:0DB8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"),
    ("2001:db8:1:2::11", "2001:db8:1:2::11"),
    ("::ffff:192.0.2.1", "::ffff:c000:201"),  # ipaddress's form, not inet_ntop's dotted one
    ("fe80::1%eth0", "fe80::1%eth0"),
    ("41.248.10.7", "41.248.10.7"),
    ("041.248.10.7", "refused"), ("256.1.1.1", "refused"), ("1.2.3", "refused"), ("", "refused"),
    ("١.٢.٣.٤", "refused"), ("1.2.3.4\x00", "refused"),
])
def test_examples(value, expected):
    assert ours(value) == expected == ipaddress_says(value)
