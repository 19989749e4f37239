"""The lexicon: every rule's own examples, true and false positives in six languages, the format."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrdshield.detection.text.enums import LANGUAGES, Category
from hrdshield.detection.text.lexicon import Lexicon, LexiconError, Rule, parse_lexicon
from hrdshield.detection.text.normalise import normalise_with_evasions


def _matched(lexicon: Lexicon, text: str, lang: str | None) -> set[str]:
    found = lexicon.match(normalise_with_evasions(text), lang)
    return {hit.rule_id for hit in found.hits} | set(found.contexts)


def _rules() -> list[Rule]:
    return list(Lexicon.default().rules)


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: rule.id)
def test_every_rule_matches_its_examples_and_not_its_counter_examples(
    lexicon: Lexicon, rule: Rule
) -> None:
    for example in rule.examples:
        assert rule.id in _matched(lexicon, example, rule.language), example
    for counter in rule.counter_examples:
        assert rule.id not in _matched(lexicon, counter, rule.language), counter


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_covers_every_category_and_reported_speech(
    lexicon: Lexicon, lang: str
) -> None:
    rules = [rule for rule in lexicon.rules if rule.language == lang]
    categories = {rule.category for rule in rules if rule.category}
    assert categories == set(Category) - {Category.ABUSE}
    assert any(rule.is_context for rule in rules)
    assert all(rule.note for rule in rules if not rule.is_context)


TRUE_POSITIVES = [
    ("en", "W3 kn0w wh3re y0u l1ve", "en.doxxing.know-where"),
    ("en", "i will k i l l  y o u", "en.threat.kill-you"),
    ("en", "k\u200bill yourself", "en.harassment.kill-yourself"),
    ("es", "te v0y a m4tar", "es.threat.kill-you"),
    ("es", "SABEMOS DONDE VIVES", "es.doxxing.know-where"),
    ("es", "esos activistas son ratas", "es.dehumanisation.vermin"),
    ("fr", "on sait où tu h@bites", "fr.doxxing.know-where"),
    ("fr", "je vais te tuuuuer", "fr.threat.kill-you"),
    ("fr", "sale p.ute", "fr.sexual.insult"),
    ("ar", "نَعرِف أيـــن تسكن", "ar.doxxing.know-where"),
    ("ar", "راح نقتلك", "ar.threat.kill-you"),
    ("ar", "اقتلوها", "ar.incitement.kill-her"),
    ("ru", "мы знaем где ты живёшь", "ru.doxxing.know-where"),  # Latin a
    ("ru", "я тебя убью", "ru.threat.kill-you"),
    ("ru", "сдохни", "ru.harassment.die"),
    ("pt", "v0u te m@tar", "pt.threat.kill-you"),
    ("pt", "sabemos onde voce mora", "pt.doxxing.know-where"),
    ("pt", "essa vagabunda de novo", "pt.sexual.insult"),
]


@pytest.mark.parametrize(("lang", "text", "rule_id"), TRUE_POSITIVES)
def test_abuse_is_found_through_evasions(
    lexicon: Lexicon, lang: str, text: str, rule_id: str
) -> None:
    assert rule_id in _matched(lexicon, text, lang)
    assert rule_id in _matched(lexicon, text, None)  # unknown language: every lexicon runs


HARD_NEGATIVES = [
    ("en", "Kill the lights when you leave"),
    ("en", "Do you know where the press conference is?"),
    ("en", "The minister's policy is garbage and she should resign"),
    ("en", "That comedian killed it last night"),
    ("es", "apaga las luces al salir"),
    ("es", "este calor me va a matar"),
    ("es", "la política del gobierno es un desastre"),
    ("fr", "éteins la lumière en partant"),
    ("fr", "je suis crevé après cette journée"),
    ("fr", "cette réforme est une catastrophe"),
    ("ar", "طفي الضو لما تطلع"),
    ("ar", "الحر رح يقتلني اليوم"),
    ("ar", "سياسة الحكومة فاشلة"),
    ("ru", "выключи свет, когда уходишь"),
    ("ru", "эта жара меня убьёт"),
    ("ru", "телефон сдох, перезвоню"),
    ("pt", "apaga a luz quando sair"),
    ("pt", "esse calor vai me matar"),
    ("pt", "vamos matar a saudade no domingo"),
]


@pytest.mark.parametrize(("lang", "text"), HARD_NEGATIVES)
def test_everyday_speech_and_criticism_match_nothing(
    lexicon: Lexicon, lang: str, text: str
) -> None:
    assert _matched(lexicon, text, lang) == set()


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "She received threats saying we know where you live"),
        ("es", "La periodista recibió amenazas que decían sabemos dónde vives"),
        ("fr", "Elle a reçu des menaces disant on sait où tu habites"),
        ("ar", "تلقت الصحفية تهديدات تقول نعرف اين تسكن"),
        ("ru", "Она получила угрозы со словами мы знаем где ты живешь"),
        ("pt", "Ela recebeu ameaças dizendo sabemos onde você mora"),
    ],
)
def test_reported_threats_are_matched_but_weighed_down(
    lexicon: Lexicon, lang: str, text: str
) -> None:
    found = lexicon.match(normalise_with_evasions(text), lang)
    assert [hit.category for hit in found.hits] == [Category.DOXXING]
    assert found.contexts == (f"{lang}.context.reporting",)
    assert found.factor < 1.0


def test_hits_carry_the_span_in_the_original_text(lexicon: Lexicon) -> None:
    text = "Listen @user: W3 KN0W   wh\u200bere you l-1-v-e!!"
    found = lexicon.match(normalise_with_evasions(text), "en")
    (hit,) = found.hits
    assert hit.rule_id == "en.doxxing.know-where"
    assert hit.category is Category.DOXXING
    assert hit.weight == 0.9
    assert text[hit.span[0] : hit.span[1]] == "KN0W   wh\u200bere you l-1-v-e"


def _lexicon_file(rule: str, language: str = "en") -> str:
    return f'language = "{language}"\n\n[[rule]]\n{rule}\n'


GOOD_RULE = (
    'id = "en.threat.x"\ncategory = "threat"\nweight = 0.5\n'
    'patterns = ["kill you"]\nexamples = ["kill you"]'
)


def test_a_valid_file_parses() -> None:
    (rule,) = parse_lexicon(_lexicon_file(GOOD_RULE), source="en.toml")
    assert rule.id == "en.threat.x"
    assert rule.search("i will kill   you") is not None
    assert rule.search("skill yourself") is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("language = [", "not valid TOML"),
        ('language = "de"', "language must be one of"),
        (_lexicon_file(GOOD_RULE.replace("en.threat.x", "es.threat.x")), "id must be"),
        (_lexicon_file(GOOD_RULE.replace('"threat"', '"rude"')), "category must be one of"),
        (_lexicon_file(GOOD_RULE.replace("0.5", "1.5")), r"weight must be in \(0, 1\]"),
        (_lexicon_file(GOOD_RULE + '\ncolour = "red"'), "unknown keys colour"),
        (_lexicon_file(GOOD_RULE.replace('"kill you"]', '"((a|b)|c)"]', 1)), "nested group"),
        (_lexicon_file(GOOD_RULE.replace('"kill you"]', '"ki*ll"]', 1)), "'\\*' belongs only"),
        (_lexicon_file(GOOD_RULE.replace('"kill you"]', '"(a|b"]', 1)), "unbalanced"),
        (_lexicon_file(GOOD_RULE.replace('"kill you"]', '"(|)"]', 1)), "empty group"),
        (_lexicon_file(GOOD_RULE.replace('"kill you"]', '"~ (a|)"]', 1)), "can match nothing"),
        (_lexicon_file(GOOD_RULE.replace('["kill you"]', "[]", 1)), "patterns must not be empty"),
        (_lexicon_file(GOOD_RULE.replace('examples = ["kill you"]', "examples = 3")), "list"),
    ],
)
def test_a_bad_file_is_refused_with_a_message_naming_the_problem(
    content: str, message: str
) -> None:
    with pytest.raises(LexiconError, match=message):
        parse_lexicon(content, source="en.toml")


def test_duplicate_rule_ids_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(_lexicon_file(GOOD_RULE), encoding="utf-8")
    (tmp_path / "b.toml").write_text(_lexicon_file(GOOD_RULE), encoding="utf-8")
    with pytest.raises(LexiconError, match="used twice"):
        Lexicon.from_directory(tmp_path)


def test_patterns_without_an_anchor_word_still_match(tmp_path: Path) -> None:
    rule = GOOD_RULE.replace('"kill you"]', '"*قتل*"]', 1).replace('"kill you"]', '"سيقتلونك"]')
    (tmp_path / "ar.toml").write_text(
        _lexicon_file(rule.replace("en.", "ar."), "ar"), encoding="utf-8"
    )
    lexicon = Lexicon.from_directory(tmp_path)
    assert _matched(lexicon, "سيقتلونك", "ar") == {"ar.threat.x"}
    assert _matched(lexicon, "صباح الخير", "ar") == set()
