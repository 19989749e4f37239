"""Normalisation undoes evasions, reports them, and maps matches back to the original text."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from hrdshield.detection.text.enums import Evasion
from hrdshield.detection.text.normalise import normalise, normalise_with_evasions


@pytest.mark.parametrize(
    ("text", "expected", "evasion"),
    [
        # digits and symbols for letters
        ("I will K1LL you", "i will kill you", Evasion.LEETSPEAK),
        ("1d10t", "idiot", Evasion.LEETSPEAK),
        ("b!tch", "bitch", Evasion.LEETSPEAK),
        ("a$$", "ass", Evasion.LEETSPEAK),
        ("пи3да", "пизда", Evasion.LEETSPEAK),
        # look-alike letters from another script
        ("k\u0456ll", "kill", Evasion.CONFUSABLE),  # Cyrillic і in a Latin word
        ("x\u0443\u0439", "хуи", Evasion.CONFUSABLE),  # Latin x in a Cyrillic word
        ("\u043c\u044b \u0437\u043da\u0435\u043c", "мы знаем", Evasion.CONFUSABLE),
        ("k\u0131ll", "kill", Evasion.CONFUSABLE),  # dotless i
        # invisible characters
        ("ki\u200bll", "kill", Evasion.INVISIBLE),
        ("k\u2060i\u00adl\ufeffl", "kill", Evasion.INVISIBLE),
        ("kill \u202eyou", "kill you", Evasion.INVISIBLE),
        # spacing and punctuation tricks
        ("k i l l  y o u", "kill you", Evasion.SPACING),
        ("k.i.l.l", "kill", Evasion.SPACING),
        ("k-1-l-l", "kill", Evasion.SPACING),
        ("ki.ll", "kill", Evasion.SPACING),
        ("p_ute", "pute", Evasion.SPACING),
        # styled letters
        ("\U0001d424\U0001d422\U0001d425\U0001d425", "kill", Evasion.STYLED),
        ("\uff4b\uff49\uff4c\uff4c", "kill", Evasion.STYLED),
        ("\u1d0b\u026a\u029f\u029f", "kill", Evasion.STYLED),
        ("\U0001f1f0\U0001f1ee\U0001f1f1\U0001f1f1", "kill", Evasion.STYLED),
        # stacked combining marks
        ("k\u0337i\u0337l\u0337l\u0337", "kill", Evasion.COMBINING),
        ("ki\u0301\u0302\u0303ll", "kill", Evasion.COMBINING),
        # stretched words
        ("kiiiiill", "kiill", Evasion.ELONGATION),
        ("\u0642\u0640\u0640\u0640\u062a\u0644", "قتل", Evasion.ELONGATION),
    ],
)
def test_evasions_are_undone_and_reported(text: str, expected: str, evasion: Evasion) -> None:
    result = normalise_with_evasions(text)
    assert result.text == expected
    assert evasion in result.evasions
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mátaté", "matate"),
        ("on sait où tu habites", "on sait ou tu habites"),
        ("você não", "voce nao"),
        ("e\u0301le\u0300ve", "eleve"),  # decomposed accents are ordinary text
        ("Ёлка и йод", "елка и иод"),
        ("\u0642\u064e\u062a\u064e\u0644\u064e", "قتل"),  # short vowels
        ("أحمد إسلام آمن سؤال سائل", "احمد اسلام امن سوال سايل"),  # hamza forms
        ("مدرسة مستشفى", "مدرسه مستشفي"),  # taa marbuta, alef maqsura
        ("١٢٣", "123"),
        ("“quoted” ‘word’ – dash", "\"quoted\" 'word' - dash"),
    ],
)
def test_diacritics_case_and_forms_fold_without_counting_as_evasion(
    text: str, expected: str
) -> None:
    result = normalise_with_evasions(text)
    assert result.text == expected
    assert not result.evasions


@pytest.mark.parametrize(
    "text",
    [
        "Kill the lights at 5pm on the 21st",
        "covid19 and the g20 summit, 4chan, 10km, mp3",
        "@user paid $100 for e-mail hosting",
        "peut-être que l'homme viendra",
        "e.g. example.com and U.N. reports",
        "WE ARE CLOSED FOR THE HOLIDAY!!!",
        "Hello!",
    ],
)
def test_ordinary_text_reports_no_evasion(text: str) -> None:
    result = normalise_with_evasions(text)
    assert not result.evasions, result.evasions


def test_whitespace_collapses_and_ends_are_trimmed() -> None:
    assert normalise("  we\tknow \n\n where  ") == "we know where"
    assert normalise("") == ""
    assert normalise("\u200b\u200b") == ""


def test_spans_map_back_to_the_original_text() -> None:
    original = "Hey  K.I.L.L you, 𝐤𝐢𝐥𝐥 and k1ll\u200b again"
    result = normalise_with_evasions(original)
    spans = []
    position = 0
    while (index := result.text.find("kill", position)) >= 0:
        spans.append(result.original_span(index, index + 4))
        position = index + 4
    assert [original[start:end] for start, end in spans] == ["K.I.L.L", "𝐤𝐢𝐥𝐥", "k1ll"]


def test_span_outside_the_text_is_refused() -> None:
    result = normalise_with_evasions("abc")
    with pytest.raises(ValueError, match="outside"):
        result.original_span(2, 9)


def test_map_and_text_agree_on_every_shipped_example() -> None:
    examples = resources.files("hrdshield.detection.text") / "examples" / "synthetic.jsonl"
    texts = [json.loads(line)["text"] for line in examples.read_text("utf-8").splitlines()]
    texts += ["k i l l  y o u 𝐤𝐢𝐥𝐥 ß İstanbul ﬁne", "ki\u200bll k\u0337i\u0337"]
    for text in texts:
        result = normalise_with_evasions(text)
        assert normalise(result.text) == result.text, text  # normalising twice changes nothing
        if result.text:
            start, end = result.original_span(0, len(result.text))
            assert 0 <= start < end <= len(text)
