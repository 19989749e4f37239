"""Indicator matcher throughput: texts per second on one core, the two real feeds loaded.

Builds the matcher from the public STIX bundles in ``shared/data/ioc`` (RCS Lab, EagleMsgSpy),
parsed by the project's own importer code, optionally with thousands of synthetic indicators
added, and runs it over a synthetic mixed stream of message texts in four languages: ordinary
sentences, harmless links, version numbers and file names, defanged links to the feeds'
infrastructure, addresses, e-mail addresses and shortened links. Nothing touches a database or
the network.

Run: ``.venv/bin/python -m benchmarks.indicators --help``
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections import Counter
from pathlib import Path

from hrdshield.exchange.enums import IndicatorType
from hrdshield.exchange.matcher import IndicatorMatcher, reviewed_shorteners
from hrdshield.exchange.stix import parse_bundle

ROOT = Path(__file__).resolve().parents[1]
FEEDS = ("rcs.stix2", "eaglemsgspy.stix2")
SENTENCES = (
    "Thanks for the update. We will meet at 10:30 tomorrow, see you there!",
    "The report is attached as report.pdf, version 2.4.1 of the template.",
    "Gracias por la información. Nos vemos en la plaza a las 18.00 h.",
    "Merci pour votre message. La réunion est reportée au 12.03, salle B.",
    "شكرا على المعلومات. سنلتقي غدا في الساعة العاشرة.",
    "Prices went up by 3.5% this week... unbelievable, right?",
    "Read the article at https://news.example.org/2026/11/elections and share it.",
    "Our site moved to www.example.com/about (the old one is gone).",
    "Please update to v10.2.3 before Friday; the notes are in CHANGES.md.",
    "You people will regret speaking out. We know where you live.",
)


def find_feeds(explicit: Path | None) -> Path:
    """Return the folder holding the real bundles (shared/ beside the checkout)."""
    options = (
        [explicit]
        if explicit
        else [
            ROOT.parent / "shared" / "data" / "ioc",
            ROOT.parent.parent / "shared" / "data" / "ioc",
        ]
    )
    for folder in options:
        if folder is not None and all((folder / name).is_file() for name in FEEDS):
            return folder
    sys.exit(f"the feeds {', '.join(FEEDS)} were not found in {', '.join(map(str, options))}")


def load_values(folder: Path) -> list[tuple[str, IndicatorType, str]]:
    """Return (id, type, value) for every value the importer takes from the real feeds."""
    values = []
    for name in FEEDS:
        bundle = parse_bundle((folder / name).read_bytes())
        for indicator in bundle.indicators:
            values += [(indicator.stix_id, value.type, value.value) for value in indicator.values]
    return values


def synthetic_values(count: int) -> list[tuple[str, IndicatorType, str]]:
    """Return `count` synthetic domain and URL indicators on reserved names."""
    values: list[tuple[str, IndicatorType, str]] = []
    for number in range(count):
        if number % 4 == 0:
            values.append((f"s{number}", IndicatorType.URL, f"https://s{number}.example/k{number}"))
        else:
            values.append((f"s{number}", IndicatorType.DOMAIN, f"phish-{number}.example"))
    return values


def stream(
    count: int, values: list[tuple[str, IndicatorType, str]], seed: int, sentences: int = 1
) -> list[str]:
    """Return `count` synthetic texts: mostly ordinary, a share carrying indicators."""
    rng = random.Random(seed)  # noqa: S311  (synthetic test data, not security)
    domains = [value for _, kind, value in values if kind is IndicatorType.DOMAIN]
    addresses = [value for _, kind, value in values if kind is IndicatorType.IPV4]
    shorteners = sorted(reviewed_shorteners())
    texts = []
    for _ in range(count):
        text = " ".join(rng.choice(SENTENCES) for _ in range(sentences))
        roll = rng.random()
        domain = rng.choice(domains)
        if roll < 0.06:
            defanged = domain.replace(".", "[.]")
            text += f" Log in at hxxps://login.{defanged}/verify?id={rng.randint(1, 9999)}"
        elif roll < 0.10:
            text += f" Install the update from {domain.replace('.', ' dot ')} now."
        elif roll < 0.13 and addresses:
            text += f" Server: {rng.choice(addresses)}:8443"
        elif roll < 0.16:
            text += f" Questions to support@{domain} please."
        elif roll < 0.20:
            text += f" Short link: https://{rng.choice(shorteners)}/{rng.randint(10**5, 10**6)}"
        elif roll < 0.30:
            text += " See also notevil-site.example and docs.example.net/page."
        texts.append(text)
    return texts


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--texts", type=int, default=50_000, help="texts in the stream")
    parser.add_argument("--rounds", type=int, default=3, help="passes; the best is reported")
    parser.add_argument("--extra", type=int, default=0, help="synthetic indicators to add")
    parser.add_argument("--feeds", type=Path, default=None, help="folder of the two bundles")
    parser.add_argument("--sentences", type=int, default=1, help="ordinary sentences per text")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    arguments = parser.parse_args(argv)

    values = load_values(find_feeds(arguments.feeds)) + synthetic_values(arguments.extra)
    started = time.perf_counter()
    matcher = IndicatorMatcher(values)
    build_seconds = time.perf_counter() - started
    texts = stream(arguments.texts, values, arguments.seed, arguments.sentences)
    best, hits = float("inf"), Counter[str]()
    for _ in range(arguments.rounds):
        started = time.perf_counter()
        results = matcher.match_texts(texts)
        best = min(best, time.perf_counter() - started)
        hits = Counter(hit.kind.value for found in results for hit in found)
    figures = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "indicators": len(matcher),
        "build_ms": round(build_seconds * 1000, 1),
        "texts": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "seconds": round(best, 3),
        "texts_per_second": round(len(texts) / best),
        "texts_with_hits": sum(1 for found in results if found),
        "hits_by_kind": dict(sorted(hits.items())),
    }
    if arguments.json:
        print(json.dumps(figures))  # noqa: T201
        return
    for name, value in figures.items():
        print(f"{name:>16}: {value}")  # noqa: T201


if __name__ == "__main__":
    main()
