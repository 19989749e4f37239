"""The evaluation: repeatable scenarios with ground truth, honest scoring, and its command."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from hrdshield import cli
from hrdshield.detection.enums import AlertSeverity, DetectorKind, EventType
from hrdshield.detection.evaluation import abuse, runner, scenarios
from hrdshield.detection.pipeline import AlertDraft, DetectorContext, Routed, Scope
from hrdshield.detection.text.classifier import StaticClassifier
from hrdshield.detection.text.lexicon import Lexicon
from hrdshield.detection.text.scorer import AbuseScorer

SMALL = scenarios.ScenarioConfig(defenders=40, accounts=800, hours=8, posts_per_minute=10)


@pytest.fixture(scope="module")
def scenario() -> scenarios.Scenario:
    return scenarios.generate(SMALL)


def test_the_same_seed_gives_the_same_stream(scenario: scenarios.Scenario) -> None:
    again = scenarios.generate(SMALL)
    assert [event.id for event in again.events] == [event.id for event in scenario.events]
    assert [event.occurred_at for event in again.events] == [e.occurred_at for e in scenario.events]
    other = scenarios.generate(scenarios.ScenarioConfig(**{**SMALL.__dict__, "seed": 7}))
    assert [e.occurred_at for e in other.events] != [e.occurred_at for e in scenario.events]


def test_every_kind_is_attacked_at_every_intensity_and_its_events_exist(
    scenario: scenarios.Scenario,
) -> None:
    ids = {event.id for event in scenario.events}
    seen = {(attack.kind, attack.intensity) for attack in scenario.attacks}
    assert seen == {(kind, level) for kind in DetectorKind for level in scenarios.INTENSITIES}
    for attack in scenario.attacks:
        assert attack.event_ids, attack
        assert attack.event_ids <= ids
    times = [event.occurred_at for event in scenario.events]
    assert times == sorted(times)
    languages = {e.content.lang for e in scenario.events if e.event_type is EventType.POST}  # type: ignore[union-attr]
    assert {"en", "es", "fr", "ar", "ru", "pt"} <= languages


class _FlagEverything:
    """A detector that alerts on every targeted reply: it finds all abuse and much else."""

    kind: ClassVar[DetectorKind] = DetectorKind.TARGETED_ABUSE
    event_types: ClassVar[frozenset[EventType]] = frozenset({EventType.REPLY})
    scope: ClassVar[Scope] = Scope.TARGETED

    def process(self, batch: Sequence[Routed], context: DetectorContext) -> list[AlertDraft]:
        return [
            AlertDraft(
                detector=self.kind,
                rule="everything",
                dedup_key=f"all:{item.event.id}",
                severity=AlertSeverity.LOW,
                score=1.0,
                summary="x",
                explanation={},
                events=[item.event],
                defender_id=item.targets[0].defender_id,
            )
            for item in batch
        ]

    def snapshot(self) -> dict[str, Any]:
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        return None


def test_scoring_separates_true_false_and_cross_detections(
    scenario: scenarios.Scenario,
) -> None:
    result = runner.evaluate(scenario, detectors=[_FlagEverything()])
    (score,) = result.scores
    assert score.recall == 1.0  # every abusive reply is a reply
    assert score.false_alerts > score.true_alerts  # benign replies are false alarms
    assert score.cross_alerts > 0  # pile-on replies are someone else's attack
    assert score.precision is not None
    assert score.precision < 0.5


def test_the_default_detectors_meet_the_targets_on_the_default_scenario() -> None:
    # The target: precision and recall >= 0.9 for detectors 2 to 8 on the default mix.
    result = runner.evaluate(scenarios.generate())
    for score in result.scores:
        if score.detector is DetectorKind.TARGETED_ABUSE:
            continue  # measured per language on its own labelled set
        assert score.recall is not None
        assert score.recall >= 0.9, score.as_dict()
        assert score.precision is not None
        assert score.precision >= 0.9, score.as_dict()


def test_the_eval_command_prints_a_table_and_json() -> None:
    arguments = ["eval", "--defenders", "30", "--accounts", "500", "--hours", "6", "--repeats", "1"]
    table = CliRunner().invoke(cli.main, arguments, env={})
    assert table.exit_code == 0, table.output
    assert "pile_on" in table.output
    assert "precision" in table.output
    as_json = CliRunner().invoke(cli.main, [*arguments, "--json"], env={})
    report = json.loads(as_json.stdout)
    assert {row["detector"] for row in report["detectors"]} >= {"pile_on", "mass_reporting"}
    assert report["events"] > 1000


def test_the_abuse_detector_is_scored_per_language_on_the_held_out_set() -> None:
    scores = {score.lang: score.as_dict() for score in abuse.evaluate_abuse()}
    assert set(scores) == {"en", "es", "fr", "ar", "ru", "pt"}
    assert all(row["lines"] == 128 for row in scores.values())


def test_abuse_scoring_counts_each_kind_of_error() -> None:
    lines = [
        {"lang": "en", "text": "zorblax one", "label": 1},
        {"lang": "en", "text": "zorblax two", "label": 0},
        {"lang": "en", "text": "plain three", "label": 1},
        {"lang": "en", "text": "plain four", "label": 0},
    ]

    def scorer() -> AbuseScorer:
        classifier = StaticClassifier(frozenset({"zorblax"}), hit=0.99, miss=0.0)
        return AbuseScorer(classifier=classifier, lexicon=Lexicon.default())

    (english,) = abuse.evaluate_abuse(lines, scorer)
    row = english.as_dict()
    assert (row["true_positives"], row["false_positives"]) == (1, 1)
    assert (row["precision"], row["recall"], row["f1"]) == (0.5, 0.5, 0.5)
