"""Counting-path throughput: events per second on one core, decode to alerts.

Measures, on one synthetic stream written as ``hrdshield.event/1`` JSON lines:

1. ``decode``: `schema.decode` alone (parse and validate);
2. ``route``: decode, then `Pipeline.process` in batches with no detector (time order,
   account memory, routing through the defender index);
3. ``counting``: the same with the counting detectors (pile-on, mass reporting, account
   takeover, shutdown).

The stream is what a large platform sends: 100,000 enrolled defenders in the index, a
million other accounts (activity skewed, as real activity is), most events involving no
defender, a few percent replies, mentions, messages, reports and sign-ins of defenders, and a
traffic count per region every minute of event time. Everything is generated in memory before
the clock starts; nothing is written to disk. The keyed hash is HMAC-SHA256, as the keyring's.

Run: ``.venv/bin/python -m benchmarks.counting`` (``--help`` for the options, ``--profile``
prints where the time goes in the ``counting`` stage).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import hmac
import io
import json
import os
import platform
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from hrdshield.defenders import identifiers
from hrdshield.defenders.enums import IdentifierKind, RiskLevel
from hrdshield.detection import schema
from hrdshield.detection.detectors.account_takeover import AccountTakeoverDetector
from hrdshield.detection.detectors.mass_reporting import MassReportingDetector
from hrdshield.detection.detectors.pile_on import PileOnDetector
from hrdshield.detection.detectors.shutdown import ShutdownDetector
from hrdshield.detection.index import DefenderIndex, ProtectedDefender
from hrdshield.detection.pipeline import Detector, Pipeline, Scope, route

TARGET = 100_000  # events/s, the target for this path
KEY = b"benchmark key, synthetic, 32 bytes"
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
COUNTRIES = ("KE", "UG", "TZ", "MX", "CO", "BR", "IN", "PH", "TR", "EG", "NG", "GT", "HN", "RU")
REGIONS = 150
NETWORKS = tuple(f"AS645{number:02d}" for number in range(100))
Stage = Callable[[Sequence[bytes]], int]  # runs lines through, returns the alerts found
WORDS = (
    "the", "of", "and", "a", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on",
    "are", "as", "with", "his", "they", "at", "be", "this", "from", "we", "by", "not",
)  # fmt: skip


def hasher(kind: str, canonical: str) -> str:
    """Stand in for the keyring's blind index: HMAC-SHA256 under a fixed synthetic key."""
    return hmac.new(KEY, f"{kind}\x1f{canonical}".encode(), hashlib.sha256).hexdigest()


def build_index(defenders: int) -> DefenderIndex:
    """Return an index of `defenders` synthetic defenders, each with one handle."""
    protected, digests = [], []
    risks = (RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.MEDIUM, RiskLevel.HIGH)
    for number in range(defenders):
        defender_id = f"d{number:07d}"
        handle = identifiers.canonical(IdentifierKind.HANDLE, f"@hrd_{number}")
        protected.append(
            ProtectedDefender(
                defender_id=defender_id,
                pseudonym=f"HRD-{number:07d}",
                country=COUNTRIES[number % len(COUNTRIES)],
                languages=("en",),
                risk_level=risks[number % len(risks)],
                handles=(handle,),
            )
        )
        digests.append((defender_id, IdentifierKind.HANDLE, hasher("handle", handle)))
    return DefenderIndex.build(hasher, protected, digests)


class Stream:
    """Write the synthetic stream; every choice comes from one seeded generator."""

    def __init__(self, *, defenders: int, accounts: int, involve: float, seed: int) -> None:
        self.random = random.Random(seed)  # noqa: S311  (synthetic data, repeatable by seed)
        self.defenders, self.accounts, self.involve = defenders, accounts, involve
        self.number = 0
        self.at = START
        self.next_traffic = START
        self.encoder = msgspec.json.Encoder()

    def _user(self) -> dict[str, Any]:
        number = int(self.accounts * self.random.random() ** 3)  # a few accounts do the most
        return {"account_id": f"u{number}", "handle": f"@user_{number}"}

    def _defender(self) -> dict[str, Any]:
        number = int(self.defenders * self.random.random() ** 2)
        return {"account_id": f"a-hrd-{number}", "handle": f"@hrd_{number}"}

    def _text(self) -> str:
        return " ".join(self.random.choices(WORDS, k=self.random.randint(6, 30)))

    def line(self) -> bytes:
        """Return the next event as one JSON line."""
        self.number += 1
        self.at += timedelta(microseconds=self.random.randint(0, 400))  # ~5,000 events/s
        if self.at >= self.next_traffic:
            return self._traffic()
        draw = self.random.random()
        involve = self.random.random() < self.involve
        if draw < 0.50:
            value = self._content("post", [])
        elif draw < 0.75:
            value = self._content("reply", [self._defender() if involve else self._user()])
        elif draw < 0.85:
            value = self._content("mention", [self._defender() if involve else self._user()])
        elif draw < 0.88:
            value = self._content("direct_message", [self._defender() if involve else self._user()])
        elif draw < 0.90:
            value = self._event(
                "report", self._user(), [self._defender() if involve else self._user()]
            )
            value["report"] = {"reason": self.random.choice(["spam", "harassment", "other"])}
        elif draw < 0.98:
            actor = self._defender() if involve else self._user()
            value = self._event("login", actor, [])
            value["login"] = {
                "country": self.random.choice(COUNTRIES[:3]) if involve else "KE",
                "network": self.random.choice(NETWORKS[:4]),
                "success": self.random.random() < 0.9,
            }
        elif draw < 0.99:
            value = self._event("profile_changed", self._user(), [])
            value["profile"] = {"display_name": "A synthetic name", "bio": self._text()}
        else:
            actor = {"account_id": f"new{self.number}", "handle": f"@new_{self.number}"}
            value = self._event("account_created", actor, [])
            value["profile"] = {"display_name": "New account", "country": "KE", "language": "en"}
        return self.encoder.encode(value)

    def _event(self, kind: str, actor: dict[str, Any] | None, targets: list[Any]) -> dict[str, Any]:
        return {
            "schema": schema.SCHEMA,
            "id": f"ev-{self.number}",
            "type": kind,
            "occurred_at": schema.format_time(self.at),
            "platform": "demo",
            "actor": actor,
            "targets": targets,
        }

    def _content(self, kind: str, targets: list[Any]) -> dict[str, Any]:
        value = self._event(kind, self._user(), targets)
        value["content"] = {"text": self._text(), "lang": "en", "post_id": f"p{self.number}"}
        if kind == "reply":
            value["content"]["in_reply_to"] = f"p{max(1, self.number - 50)}"
        return value

    def _traffic(self) -> bytes:
        region = self.number % REGIONS
        if region == REGIONS - 1:
            self.next_traffic += timedelta(minutes=1)
        code = COUNTRIES[region] if region < len(COUNTRIES) else f"Q{chr(65 + region % 26)}"
        value = self._event("traffic_count", None, [])
        value["region"], value["count"] = code, self.random.randint(8_000, 12_000)
        return self.encoder.encode(value)


def counting_detectors() -> list[Detector]:
    """Return fresh instances of the counting detectors."""
    return [
        PileOnDetector(),
        MassReportingDetector(),
        AccountTakeoverDetector(),
        ShutdownDetector(),
    ]


def _decode_only(lines: Sequence[bytes]) -> int:
    decode = schema.decode
    for line in lines:
        decode(line)
    return 0


def _through(pipeline: Pipeline, batch: int) -> Stage:
    def run(lines: Sequence[bytes]) -> int:
        decode, alerts = schema.decode, 0
        for start in range(0, len(lines), batch):
            events = [decode(line) for line in lines[start : start + batch]]
            alerts += len(pipeline.process(events).alerts)
        return alerts

    return run


def _timed(stage: Stage, lines: Sequence[bytes], *, profile: bool) -> tuple[float, int]:
    gc.collect()
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    started = time.process_time()
    alerts = stage(lines)
    seconds = time.process_time() - started
    if profiler is not None:
        profiler.disable()
        report = io.StringIO()
        pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(30)
        sys.stderr.write(report.getvalue())
    return seconds, alerts


def _stages(arguments: argparse.Namespace) -> dict[str, Callable[[], Stage]]:
    def route_only() -> Stage:
        index = build_index(arguments.defenders)
        return _through(Pipeline(detectors=[], index=lambda: index), arguments.batch)

    def counting() -> Stage:
        index = build_index(arguments.defenders)
        pipeline = Pipeline(detectors=counting_detectors(), index=lambda: index)
        return _through(pipeline, arguments.batch)

    return {"decode": lambda: _decode_only, "route": route_only, "counting": counting}


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    """Generate the stream; per stage and repeat, warm a fresh pipeline up, then time it."""
    built = time.perf_counter()
    stream = Stream(
        defenders=arguments.defenders,
        accounts=arguments.accounts,
        involve=arguments.involve,
        seed=arguments.seed,
    )
    warmup = [stream.line() for _ in range(arguments.warmup)]
    lines = [stream.line() for _ in range(arguments.events)]
    sample = [schema.decode(line) for line in lines[:50_000]]
    routes = route(sample, build_index(arguments.defenders))
    involving = len(routes[Scope.TARGETED]) + len(routes[Scope.OWN_ACCOUNT])
    setup_seconds = time.perf_counter() - built
    stages: list[dict[str, Any]] = []
    for name, make in _stages(arguments).items():
        timings: list[float] = []
        alerts = 0
        for _ in range(arguments.repeat):
            stage = make()
            stage(warmup)  # fill the handle cache and the detectors' state, as in a running worker
            if arguments.gc_freeze:
                gc.collect()
                gc.freeze()  # what survived the warm-up is left out of later collections
            profile = arguments.profile and name == "counting" and not timings
            seconds, alerts = _timed(stage, lines, profile=profile)
            timings.append(seconds)
            gc.unfreeze()
        best = min(timings)
        stages.append(
            {
                "stage": name,
                "events": len(lines),
                "best_seconds": round(best, 3),
                "median_seconds": round(statistics.median(timings), 3),
                "per_second": round(len(lines) / best),
                "us_per_event": round(best / len(lines) * 1e6, 2),
                "alerts": alerts,
            }
        )
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU(s), {platform.system()}",
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "defenders": arguments.defenders,
        "accounts": arguments.accounts,
        "batch": arguments.batch,
        "repeat": arguments.repeat,
        "gc_freeze": arguments.gc_freeze,
        "setup_seconds": round(setup_seconds, 1),
        "share_involving_defenders": round(involving / len(sample), 4),
        "stages": stages,
        "target_per_second": TARGET,
    }


def _table(results: dict[str, Any]) -> str:
    frozen = ", gc frozen after warm-up" if results["gc_freeze"] else ""
    lines = [
        f"{results['machine']} | Python {results['python']} | {results['date']} | one core"
        f" (process time, best of {results['repeat']}{frozen})\n{results['defenders']:,} defenders,"
        f" {results['accounts']:,} other accounts, batches of {results['batch']},"
        f" {results['share_involving_defenders']:.1%} of events involve a defender",
        f"{'stage':<10}{'events':>10}{'best s':>9}{'median s':>10}{'events/s':>11}{'us/event':>10}"
        f"{'alerts':>8}",
    ]
    for stage in results["stages"]:
        lines.append(
            f"{stage['stage']:<10}{stage['events']:>10,}{stage['best_seconds']:>9}"
            f"{stage['median_seconds']:>10}{stage['per_second']:>11,}{stage['us_per_event']:>10}{stage['alerts']:>8}"
        )
    whole = results["stages"][-1]["per_second"]
    verdict = "met" if whole >= results["target_per_second"] else "NOT met"
    lines.append(f"target {results['target_per_second']:,} events/s for the whole path: {verdict}")
    return "\n".join(lines) + "\n"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000, help="events timed per stage")
    parser.add_argument("--warmup", type=int, default=100_000, help="events run before timing")
    parser.add_argument("--defenders", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=1_000_000, help="other accounts")
    parser.add_argument(
        "--involve", type=float, default=0.06, help="share of events that involve a defender"
    )
    parser.add_argument("--batch", type=int, default=1000, help="events per pipeline batch")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage; the best counts")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() after the warm-up (see the docs)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the counting stage")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a table, or one JSON object with --json."""
    arguments = _arguments(argv)
    results = run(arguments)
    sys.stdout.write(json.dumps(results) + "\n" if arguments.json else _table(results))


if __name__ == "__main__":
    main()
