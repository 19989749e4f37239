"""Smear-campaign detector throughput: texts per second on one core, on a synthetic stream.

Builds a day of texts aimed at enrolled defenders, in six languages (en, es, fr, pt, sw, ar;
organic texts drawn from each language's common words and a Zipf-distributed invented
vocabulary, some with news links and hashtags), with copy-paste campaigns mixed in (edited
copies of a template: case, emoji, punctuation, reordered sentences, number noise, words
changed, links with tracking parameters), routes
them through the real pipeline routing, then times only the detector's ``process`` over the
routed batches, in event-time order. Prints texts/s, the cost per text of each stage (reading the
text, MinHash signature), the number of campaigns planted and alerted, and alerts on organic
texts. Every word, handle and link is invented.

Run: ``.venv/bin/python -m benchmarks.smear`` (``--help`` for the options). With ``--datasketch``
and the ``datasketch`` package importable, it also times datasketch's MinHash and MinHashLSH on
the same normalised texts, for comparison (the package is not a dependency of the project).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import random
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.detection.streams import test_hasher

from hrdshield.defenders.enums import IdentifierKind, RiskLevel
from hrdshield.detection import schema
from hrdshield.detection.detectors import minhash
from hrdshield.detection.detectors.smear import SmearCampaignDetector
from hrdshield.detection.detectors.smear_text import features
from hrdshield.detection.index import DefenderIndex, ProtectedDefender
from hrdshield.detection.pipeline import AccountMemory, DetectorContext, Routed, Scope, route
from hrdshield.detection.thresholds import ThresholdBook

START = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
# Common words of each language, then invented words from its letters, drawn with Zipf's law
# (a few words very often, most rarely) as words are in real text.
COMMON = {
    "en": "the a to and of in is you that it for on we this they be are with not have but",
    "es": "de la que el en y a los se del las un por con no una su para es al lo como",
    "fr": "de la le et les des en un du une que est pour qui dans a par plus pas au sur",
    "pt": "de a o que e do da em um para com não uma os no se na por mais as dos como",
    "sw": "na ya wa kwa ni za katika la kuwa hii huo hiyo yake wake cha vya pia sana",
    "ar": "في من على إلى أن عن مع هذا هذه التي الذي كان لا ما هو هي كل بعد قبل",
}
LETTERS = {
    "en": ("bcdfghjklmnprstvwz", "aeiou"),
    "es": ("bcdfgjlmnprstvñ", "aeiouáéó"),
    "fr": ("bcdfgjlmnprstv", "aeiouéèà"),
    "pt": ("bcdfgjlmnprstvç", "aeiouãõá"),
    "sw": ("bchdfgjklmnprstwyz", "aeiou"),
    "ar": ("بتثجحخدذرزسشصضطظعغفقكلمنهوي", "اوي"),
}
VOCABULARY_SIZE = 4000
TEMPLATES = {
    "en": "Everyone should know that {target} takes money from foreign agents. Her reports are"
    " lies written to order. Do not trust her organisation, share before they delete this.",
    "es": "Todos deben saber que {target} recibe dinero de agentes extranjeros. Sus informes son"
    " mentiras por encargo. No confíen en su organización, compartan antes de que lo borren.",
    "fr": "Tout le monde doit savoir que {target} reçoit de l'argent d'agents étrangers. Ses"
    " rapports sont des mensonges sur commande. Ne faites pas confiance à son organisation.",
    "pt": "Todos devem saber que {target} recebe dinheiro de agentes estrangeiros. Os relatórios"
    " dela são mentiras encomendadas. Não confiem na organização dela, partilhem já.",
    "sw": "Kila mtu ajue kwamba {target} anapokea pesa kutoka kwa mawakala wa kigeni. Ripoti"
    " zake ni uongo ulioagizwa. Msiamini shirika lake, sambazeni kabla hawajafuta hii.",
    "ar": "يجب أن يعرف الجميع أن {target} تتلقى أموالا من عملاء أجانب. تقاريرها أكاذيب مكتوبة"
    " حسب الطلب. لا تثقوا في منظمتها وانشروا هذا قبل أن يحذفوه.",
}
EMOJI = ("😡", "🤮", "👎", "💰", "🔥", "‼️")


def main(argv: list[str] | None = None) -> int:
    """Build the stream, time the detector over it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=60_000, help="organic texts (default 60000)")
    parser.add_argument("--defenders", type=int, default=300)
    parser.add_argument("--campaigns", type=int, default=60)
    parser.add_argument("--batch", type=int, default=500, help="events per process() call")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--datasketch", action="store_true", help="also time datasketch")
    options = parser.parse_args(argv)
    rng = random.Random(options.seed)
    index, defenders = _index(options.defenders)
    events, planted = _stream(rng, defenders, options.texts, options.campaigns)
    batches = [
        route(events[start : start + options.batch], index)[Scope.TARGETED]
        for start in range(0, len(events), options.batch)
    ]
    figures = _measure(batches, index, planted, options.campaigns)
    figures.update(_stages([item.event for batch in batches for item in batch][:20_000]))
    figures.update(_memory(batches[: max(1, 20_000 // options.batch)], index))
    if options.datasketch:
        figures["datasketch"] = _datasketch(events[:20_000])
    figures["machine"] = f"{platform.machine()}, Python {platform.python_version()}"
    if options.json:
        print(json.dumps(figures))  # noqa: T201
    else:
        for key, value in figures.items():
            print(f"{key:>34}: {value}")  # noqa: T201
    return 0


def _index(count: int) -> tuple[DefenderIndex, list[ProtectedDefender]]:
    defenders = [
        ProtectedDefender(
            defender_id=f"def{number:05d}",
            pseudonym=f"HRD-BENCH{number:05d}",
            country=("KE", "MX", "FR", "BR", "TZ", "EG")[number % 6],
            languages=(("en", "es", "fr", "pt", "sw", "ar")[number % 6],),
            risk_level=RiskLevel.HIGH if number % 10 == 0 else RiskLevel.MEDIUM,
        )
        for number in range(count)
    ]
    digests = [
        (item.defender_id, IdentifierKind.HANDLE, test_hasher("handle", f"bench_hrd_{number}"))
        for number, item in enumerate(defenders)
    ]
    return DefenderIndex.build(test_hasher, defenders, digests), defenders


def _event(number: int, at: datetime, actor: str, target: int, text: str, lang: str) -> Any:
    kind = ("post", "reply", "mention")[number % 3]
    content: dict[str, Any] = {
        "text": text[: schema.MAX_TEXT],
        "lang": lang,
        "post_id": f"p{number}",
    }
    if kind == "reply":
        content["in_reply_to"] = "p0"
    return schema.convert(
        {
            "schema": schema.SCHEMA,
            "id": f"ev-{number}",
            "type": kind,
            "occurred_at": schema.format_time(at),
            "platform": "bench",
            "actor": {"account_id": f"acct-{actor}", "handle": f"@{actor}"},
            "targets": [{"account_id": f"acct-hrd-{target}", "handle": f"@bench_hrd_{target}"}],
            "content": content,
        }
    )


def _vocabulary(rng: random.Random, lang: str) -> tuple[list[str], list[float]]:
    """Return a language's words and their cumulative Zipf weights."""
    consonants, vowels = LETTERS[lang]
    words = COMMON[lang].split()
    while len(words) < VOCABULARY_SIZE:
        syllables = rng.randint(1, 4)
        word = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables))
        words.append(("ال" + word) if lang == "ar" and rng.random() < 0.3 else word)
    weights = list(itertools.accumulate(1 / rank**1.05 for rank in range(1, len(words) + 1)))
    return words, weights


def _stream(
    rng: random.Random, defenders: list[ProtectedDefender], organic: int, campaigns: int
) -> tuple[list[Any], dict[str, set[str]]]:
    """Return events in time order, and the accounts of each planted campaign by defender."""
    day = 86_400.0
    rows: list[tuple[float, str, int, str, str]] = []
    vocabularies = {lang: _vocabulary(rng, lang) for lang in COMMON}
    for _ in range(organic):
        target = rng.randrange(len(defenders))
        lang = defenders[target].language
        words, weights = vocabularies[lang]
        text = " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(6, 30)))
        if rng.random() < 0.2:
            text += f" https://news{rng.randrange(40)}.example/story/{rng.randrange(500)}"
        if rng.random() < 0.2:
            text += f" #{rng.choices(words, cum_weights=weights)[0]}"
        rows.append((rng.uniform(0, day), f"user{rng.randrange(organic // 3)}", target, text, lang))
    planted: dict[str, set[str]] = {}
    for number in range(campaigns):
        target = rng.randrange(len(defenders))
        lang = defenders[target].language
        words, weights = vocabularies[lang]
        motive = " ".join(rng.choices(words, cum_weights=weights, k=8))  # each campaign its own
        template = TEMPLATES[lang].format(target=f"@bench_hrd_{target}") + f" {motive}."
        start, spread = rng.uniform(0, day - 7_200), rng.uniform(600, 5_400)
        accounts = rng.randint(6, 30)
        link = f"https://smear{number}.example/dossier"
        for member in range(accounts):
            actor = f"troll{number}-{member}"
            planted.setdefault(defenders[target].defender_id, set()).add(f"acct-{actor}")
            text = _edited(rng, template, link)
            rows.append((start + rng.uniform(0, spread), actor, target, text, lang))
    rows.sort()
    events = [
        _event(number, START + timedelta(seconds=at), actor, target, text, lang)
        for number, (at, actor, target, text, lang) in enumerate(rows)
    ]
    return events, planted


def _edited(rng: random.Random, template: str, link: str) -> str:
    """Return a copy of `template` with the cheap edits a campaign makes to dodge matching."""
    sentences = [part.strip() for part in template.split(".") if part.strip()]
    if rng.random() < 0.3:
        rng.shuffle(sentences)
    words = ". ".join(sentences).split()
    for _ in range(rng.randint(0, 4)):
        position = rng.randrange(len(words))
        edit = rng.random()
        if edit < 0.3:
            words[position] = words[position].upper()
        elif edit < 0.6:
            words.insert(position, rng.choice(EMOJI))
        elif edit < 0.8:
            words[position] += "!!!"
        else:
            words[position] = rng.choice(words)  # one word changed
    tail = rng.choice(("", f" {rng.randrange(10_000)}", f" {link}?utm_source={rng.randrange(99)}"))
    return " ".join(words) + tail


def _measure(
    batches: list[list[Routed]], index: DefenderIndex, planted: dict[str, set[str]], campaigns: int
) -> dict[str, Any]:
    detector = SmearCampaignDetector()
    context = DetectorContext(index=index, thresholds=ThresholdBook(), accounts=AccountMemory())
    alerts: dict[str, Any] = {}
    texts = sum(len(batch) for batch in batches)
    started = time.process_time()
    wall = time.perf_counter()
    for batch in batches:
        for draft in detector.process(batch, context):
            alerts[draft.dedup_key] = draft
    cpu = time.process_time() - started
    wall = time.perf_counter() - wall
    pure = [
        draft
        for draft in alerts.values()
        if set(draft.explanation["account_ids"]) <= planted.get(draft.defender_id or "", set())
    ]
    recovered = {
        account.split("-")[1] for draft in pure for account in draft.explanation["account_ids"]
    }
    started = time.process_time()
    snapshot = json.dumps(detector.snapshot())
    SmearCampaignDetector().restore(json.loads(snapshot))
    round_trip = time.process_time() - started
    held = sum(len(window.texts) for window in detector.windows.values())
    return {
        "texts": texts,
        "texts/s (detector, one core, CPU)": round(texts / cpu),
        "texts/s (detector, wall)": round(texts / wall),
        "us/text (detector)": round(cpu / texts * 1e6, 1),
        "campaigns planted": campaigns,
        "campaigns alerted": len(recovered),
        "alerts": len(alerts),
        "alerts touching organic accounts": len(alerts) - len(pure),
        "texts held in windows at the end": held,
        "snapshot MiB": round(len(snapshot) / 2**20, 1),
        "snapshot + restore s": round(round_trip, 2),
    }


def _memory(batches: list[list[Routed]], index: DefenderIndex) -> dict[str, Any]:
    """Return the detector's memory per text held, measured with tracemalloc."""
    context = DetectorContext(index=index, thresholds=ThresholdBook(), accounts=AccountMemory())
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    detector = SmearCampaignDetector()
    for batch in batches:
        detector.process(batch, context)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    held = sum(len(window.texts) for window in detector.windows.values())
    return {
        "state MiB (first batches)": round((after - before) / 2**20, 1),
        "state bytes per text held": round((after - before) / max(held, 1)),
    }


def _stages(events: list[Any]) -> dict[str, Any]:
    texts = [event.content.text for event in events]
    started = time.process_time()
    found = [features(text) for text in texts]
    read = time.process_time() - started
    started = time.process_time()
    for item in found:
        item.signature()
    signed = time.process_time() - started
    return {
        "us/text reading (normalise, links)": round(read / len(texts) * 1e6, 1),
        f"us/text MinHash ({minhash.NUM_PERM} perm)": round(signed / len(texts) * 1e6, 1),
        "mean normalised length": round(sum(len(item.text) for item in found) / len(found)),
    }


def _datasketch(events: list[Any]) -> str:
    try:
        from datasketch import MinHash, MinHashLSH  # noqa: PLC0415  (optional, for comparison)
    except ImportError:
        return "not installed (pip install datasketch to compare)"
    texts = [features(event.content.text).text for event in events]
    lsh = MinHashLSH(threshold=0.5, num_perm=minhash.NUM_PERM)
    started = time.process_time()
    for number, text in enumerate(texts):
        signed = MinHash(num_perm=minhash.NUM_PERM)
        signed.update_batch([text[i : i + 5].encode() for i in range(max(1, len(text) - 4))])
        lsh.query(signed)
        lsh.insert(str(number), signed)
    cpu = time.process_time() - started
    return f"{round(len(texts) / cpu)} texts/s (MinHash + LSH query + insert only)"


if __name__ == "__main__":
    sys.exit(main())
