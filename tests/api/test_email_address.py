"""The shortcut for plain addresses agrees with email-validator: same address kept, same normalised form."""
from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.api.email_address import PLAIN_ADDRESS, _plain, normalised_email

ATEXT = "abcXYZ019_!#$%&'*+-/=?^`{|}~"
atoms = st.text(alphabet=ATEXT, min_size=1, max_size=12)
labels = st.text(alphabet="abcDEFxyz019-", min_size=1, max_size=12)
tlds = st.sampled_from(["org", "ma", "COM", "fr", "x", "a1b", "localhost", "test", "local", "onion", "arpa",
                        "invalid", "xn--p1ai", "c0m", "1a", "museum", "d" * 63, "d" * 64])
# Addresses near the shortcut's edges: role names, hyphens, special-use and IDNA domains, long parts.
addresses = st.builds(
    lambda local, domain, tld: f"{'.'.join(local)}@{'.'.join(domain + [tld])}",
    st.lists(st.one_of(atoms, st.sampled_from(["postmaster", "Abuse", "info", "a" * 64, ""])), min_size=1, max_size=3),
    st.lists(st.one_of(labels, st.sampled_from(["xn--mnchen-3ya", "a--b", "-a", "a-", "b" * 63, "c" * 64])),
             min_size=0, max_size=3),
    tlds,
)


def email_validator_says(address: str):
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        return "refused"


@settings(max_examples=1500, deadline=None)
@given(address=st.one_of(addresses, st.from_regex(PLAIN_ADDRESS, fullmatch=True), st.text(max_size=30)))
def test_the_shortcut_gives_what_email_validator_gives(address):
    shortcut = _plain(address)
    if shortcut is not None:
        assert shortcut == email_validator_says(address)


@settings(max_examples=300, deadline=None)
@given(address=st.one_of(addresses, st.text(max_size=30)))
def test_normalised_email_agrees_with_email_validator(address):
    try:
        ours = normalised_email(address, check_deliverability=False)
    except EmailNotValidError:
        ours = "refused"
    assert ours == email_validator_says(address)


@pytest.mark.parametrize("address, expected", [
    ("amina@example.org", "amina@example.org"),
    ("Amina.El-Idrissi+news@Hespress.MA", "Amina.El-Idrissi+news@hespress.ma"),
    ("o'brien@sub.domain.co.uk", "o'brien@sub.domain.co.uk"),
])
def test_common_addresses_take_the_shortcut(address, expected):
    assert _plain(address) == expected


@pytest.mark.parametrize("address", [
    "Postmaster@example.org",  # a role name: email-validator lowercases it
    "amina@localhost", "amina@server.local", "amina@example.test",  # special-use domains
    "amina@xn--mnchen-3ya.de", "amina@münchen.de", "أمينة@example.ma",  # IDNA and Unicode
    '"amina"@example.org', "amina@[127.0.0.1]", "amina@example", "amina@example.123",
    "a" * 65 + "@example.org", "a..b@example.org", ".a@example.org",
])
def test_other_addresses_are_left_to_email_validator(address):
    assert _plain(address) is None


def test_with_deliverability_checks_every_address_goes_to_email_validator(monkeypatch):
    asked = []

    def validate(address, check_deliverability):
        asked.append((address, check_deliverability))
        return validate_email(address, check_deliverability=False)

    monkeypatch.setattr("moderation.api.email_address.validate_email", validate)
    assert normalised_email("amina@example.org", check_deliverability=True) == "amina@example.org"
    assert normalised_email("amina@example.org", check_deliverability=False) == "amina@example.org"
    assert asked == [("amina@example.org", True)]
