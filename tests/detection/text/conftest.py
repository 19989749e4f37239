"""Fixtures of the text layer: the shipped lexicon, loaded once, and labelled files on disk."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from hrdshield.detection.text.lexicon import Lexicon


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    return Lexicon.default()


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    """Write rows as JSON lines and return the path."""
    path.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    return path


ABUSIVE = [
    "you are a worthless idiot",
    "shut up idiot nobody wants you here",
    "idiot traitor get lost",
    "what an idiot, go away",
    "eres un idiota inútil",
    "cállate idiota",
    "idiot et traître, dégage",
    "tu es un idiot fini",
    "cala a boca seu idiota",
    "você é um idiota",
    "ты идиот и предатель",
    "заткнись идиот",
]
KIND = [
    "thank you for the thoughtful report",
    "the meeting is at nine tomorrow",
    "great work on the hearing today",
    "please share the document with the team",
    "gracias por el informe tan claro",
    "la reunión es mañana a las nueve",
    "merci pour ce rapport très clair",
    "la réunion est demain à neuf heures",
    "obrigada pelo relatório tão claro",
    "a reunião é amanhã às nove",
    "спасибо за подробный отчёт",
    "встреча завтра в девять",
]
LANGS = ["en"] * 4 + ["es"] * 2 + ["fr"] * 2 + ["pt"] * 2 + ["ru"] * 2


def labelled_rows(copies: int = 2, license_name: str = "CC0-1.0") -> list[dict[str, Any]]:
    """Return a small labelled set in five languages, each text repeated `copies` times."""
    rows = []
    for copy in range(copies):
        suffix = "" if copy == 0 else f" {'!' * copy}"
        for text, lang in zip(ABUSIVE, LANGS, strict=True):
            rows.append({"lang": lang, "text": text + suffix, "label": 1, "license": license_name})
        for text, lang in zip(KIND, LANGS, strict=True):
            rows.append({"lang": lang, "text": text + suffix, "label": 0, "license": license_name})
    return rows
