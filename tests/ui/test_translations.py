"""The French catalogue ships compiled, complete and in step with its source."""
from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

CATALOGUE = Path(__file__).resolve().parents[2] / "moderation" / "ui" / "translations" / "fr" / "LC_MESSAGES"


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_compiled_french_matches_its_source_and_leaves_nothing_in_english():
    with open(CATALOGUE / "messages.po", "rb") as po_file, open(CATALOGUE / "messages.mo", "rb") as mo_file:
        source, compiled = read_po(po_file), read_mo(mo_file)
    source_messages = {_key(m.id): _key(m.string) for m in source if m.id}
    compiled_messages = {_key(m.id): _key(m.string) for m in compiled if m.id}
    assert compiled_messages == source_messages, "run pybabel compile -d moderation/ui/translations"
    untranslated = [mid for mid, text in source_messages.items() if not text or (isinstance(text, tuple) and not all(text))]
    assert untranslated == []
    assert source_messages["Wrong e-mail or password."] == "Adresse e-mail ou mot de passe incorrect."
