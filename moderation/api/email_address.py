"""A commenter's e-mail address checked and normalised by email-validator, with a shortcut for plain ASCII addresses."""
from __future__ import annotations

import re

import email_validator
from email_validator import validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

# A dot-atom local part of ASCII letters, digits and RFC 5322's other atext characters, then a domain
# of at least two letter-digit-hyphen labels of up to 63 characters, ending in a letter (every TLD ends with
# one). email-validator accepts every such address, and normalises it by lowercasing the domain:
# tests/api/test_email_address.py holds this against email-validator itself.
_ATEXT = r"A-Za-z0-9_!#$%&'*+\-/=?^`{|}~"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
PLAIN_ADDRESS = re.compile(
    rf"(?P<local>[{_ATEXT}]{{1,64}}(?:\.[{_ATEXT}]+)*)@(?P<domain>(?:{_LABEL}\.)+(?:[A-Za-z0-9][A-Za-z0-9-]{{0,61}})?[A-Za-z])"
)
_ROLE_NAMES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)  # email-validator lowercases these local parts


def _plain(address: str) -> str | None:
    """The normalised form of an address that is plainly valid, or None to ask email-validator."""
    found = PLAIN_ADDRESS.fullmatch(address)
    if found is None or len(address) > 254:
        return None
    local, domain = found.group("local"), found.group("domain").lower()
    # (Labels are capped at 63 by the pattern, the domain at 253 by the address's own 254.)
    if len(local) > 64 or "--" in domain or local.lower() in _ROLE_NAMES:
        return None  # long local parts, IDNA-like labels ("xn--") and role names are email-validator's to judge
    if any(domain == name or domain.endswith("." + name) for name in email_validator.SPECIAL_USE_DOMAIN_NAMES):
        return None  # "localhost", "*.test" and the like are refused (or allowed in tests) by its settings
    return f"{local}@{domain}"


def normalised_email(address: str, *, check_deliverability: bool) -> str:
    """The address as email-validator normalises it; EmailNotValidError if it refuses it.

    Why the shortcut: email-validator's syntax and IDNA checks were a third of validating an intake
    body (bench/README.md, "Intake", seventh session), and almost every commenter's address is plain
    ASCII. With deliverability checks on, every address goes to email-validator (DNS)."""
    if not check_deliverability:
        plain = _plain(address)
        if plain is not None:
            return plain
    return validate_email(address, check_deliverability=check_deliverability).normalized
