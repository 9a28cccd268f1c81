"""Normalisation: one test per trick the issue lists, plus the term analyser."""

from moderation.classifier.features import (
    EMAIL, HANDLE, PHONE, URL, WORD_PREFIX, analyse, compose, normalise, terms_of_normalised,
)


def test_nfkc_and_case_folding():
    # Fullwidth letters and the "ﬁ" ligature fold to plain lower-case ASCII; ß folds to ss.
    assert normalise("ＦＲＥＥ ﬁnance STRAẞE") == "free finance strasse"


def test_accents_are_removed_so_spelling_variants_meet():
    assert normalise("Pédé énervé, ça") == normalise("pede enerve, ca")


def test_arabic_alef_forms_are_unified():
    assert normalise("أحمد إسلام آمن ٱلله") == "احمد اسلام امن الله"


def test_arabic_ta_marbuta_and_alef_maqsura():
    assert normalise("مدرسة على مستشفى") == "مدرسه علي مستشفي"


def test_arabic_tatweel_and_diacritics_are_dropped():
    assert normalise("الحمـــــد") == "الحمد"
    assert normalise("مُحَمَّدٌ") == "محمد"


def test_arabic_indic_digits_become_ascii():
    assert normalise("٠٦١٢") == normalise("0612")


def test_latin_elongation_shrinks_to_one_letter():
    assert normalise("nuuuuul") == "nul"
    assert normalise("cooool") == "col"
    # Doubles are real spelling and stay.
    assert normalise("connard") == "connard"


def test_arabic_elongation_keeps_two_letters():
    assert normalise("ههههههه") == "هه"
    assert normalise("واااااو") == "وااو"


def test_arabizi_digits_read_as_letters_in_darija_context():
    assert normalise("sa7bi 3ndek l7mar") == "sahbi andek lhmar"
    assert normalise("wach nta 9lil") == "wach nta qlil"
    # The digit spelling and the letter spelling meet.
    assert normalise("7mar") == normalise("hmar")


def test_leetspeak_outside_darija_context():
    assert normalise("n1qu3 ta m3r3") == "nique ta mere"
    assert normalise("sh1t, f4ggot") == "shit faggot"
    assert normalise("$hit") == "shit"


def test_numbers_units_and_ordinals_are_not_leetspeak():
    assert normalise("à 7h30 le 1st, 10km") == "a 7h30 le 1st 10km"


def test_numbers_beside_words_stay_numbers_and_a_disguised_word_among_them_is_still_read():
    assert normalise("Commentaire 3-12-2026 : 15 000 dh pour 7 villes") == "commentaire 3 12 2026 15 000 dh pour 7 villes"
    assert normalise("le budget 2026 : 10 000 dh, c0nn4rd") == "le budget 2026 10 000 dh connard"
    assert normalise("2026, wach 3ndek 9lil") == "2026 wach andek qlil"


def test_spaced_out_words_are_joined():
    assert normalise("c o n n a r d") == "connard"
    assert normalise("s.p.a.m") == "spam"
    assert normalise("f-u-c-k you") == "fuck you"
    assert normalise("ك ل ب") == "كلب"


def test_ordinary_short_words_are_not_joined():
    assert normalise("il y a un an") == "il y a un an"


def test_urls_become_a_token_that_still_counts():
    for text in ("visit https://buy.example.com/x?a=1 now", "visit www.example.org now", "visit cheap-pills.shop now"):
        assert normalise(text) == f"visit {URL} now"
    # A missing space after a full stop is not a URL.
    assert normalise("fin.Puis") == "fin puis"


def test_emails_phones_and_handles_become_tokens():
    assert normalise("write to jean.dupont+x@mail.fr") == f"write to {EMAIL}"
    assert normalise("appelez le +212 6 12 34 56 78") == f"appelez le {PHONE}"
    assert normalise("06.12.34.56.78") == PHONE
    assert normalise("@USER merci") == f"{HANDLE} merci"


def test_html_entities_and_invisible_characters():
    assert normalise("a &amp; b") == "a b"
    assert normalise("con\u200bnard") == "connard"


def test_terms_contain_words_pairs_and_char_ngrams():
    terms = terms_of_normalised("bon jour")
    assert WORD_PREFIX + "bon" in terms
    assert WORD_PREFIX + "bon jour" in terms
    assert " bo" in terms and "jour" in terms and "n j" in terms


def test_analyse_is_normalise_then_terms():
    text = "C O N N A R D !!! www.x.com"
    assert analyse(text) == terms_of_normalised(normalise(text))


def test_compose_adds_author_fields():
    assert compose("hello", "Cheap Pills", "http://x.com") == "hello\nCheap Pills\nhttp://x.com"
    assert compose("hello") == "hello"
    assert URL in normalise(compose("hello", "", "http://spam.example.com"))


def test_empty_and_symbol_only_text():
    assert normalise("") == ""
    assert terms_of_normalised("") == []
    # Punctuation other than ! and ? carries no signal and is dropped.
    assert normalise("...") == ""
    assert normalise("quoi ?!!") == "quoi ? !"
