"""The linear model: training on a labelled set, the model directory, loading and its refusals."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from hrdshield.config import ConfigError, load_settings
from hrdshield.detection.text.classifier import (
    LinearModel,
    ModelError,
    StaticClassifier,
    default_model_directory,
    load_classifier,
)
from hrdshield.detection.text.features import feature_matrix, ngram_matrix
from hrdshield.detection.text.training import (
    TrainingDataError,
    per_language,
    quality,
    read_labelled,
    train,
)
from tests.detection.text.conftest import labelled_rows, write_jsonl


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_jsonl(tmp_path_factory.mktemp("data") / "labelled.jsonl", labelled_rows(3))
    steps: list[int] = []
    result = train(read_labelled(path), name="test", bits=16, folds=3, progress=steps.append)
    assert sum(steps) == 5  # features, three folds, final fit
    directory = tmp_path_factory.mktemp("model") / "abuse-model"
    result.model.save(directory)
    return directory


def test_a_trained_model_separates_the_classes_and_reports_per_language(trained: Path) -> None:
    model = LinearModel.load(trained)
    abusive, kind = model.score_batch(
        ["what a worthless idiot", "thank you for the clear report"], ["en", "en"]
    )
    assert abusive > 0.5 > kind
    metadata = json.loads((trained / "model.json").read_text("utf-8"))
    assert metadata["name"] == "test"
    assert set(metadata["cross_validation"]) == {"en", "es", "fr", "pt", "ru", "all"}
    assert metadata["cross_validation"]["all"]["support"] == 72
    assert metadata["trained_on"] == [
        {
            "source": "unknown",
            "license": "CC0-1.0",
            "rows": 72,
            "languages": {"en": 24, "es": 12, "fr": 12, "pt": 12, "ru": 12},
        }
    ]
    assert metadata["format"] == "hrdshield-abuse-linear"
    assert model.name == "linear:test@1"


def test_batch_scores_equal_one_text_per_call(trained: Path) -> None:
    model = LinearModel.load(trained)
    texts = ["idiot", "bonjour à tous", "заткнись идиот", "", "k1ll y0u"]
    langs = ["en", "fr", "ru", None, None]
    together = model.score_batch(texts, langs)
    alone = [model.score_batch([text], [lang])[0] for text, lang in zip(texts, langs, strict=True)]
    assert together == pytest.approx(alone, abs=1e-6)
    assert model.score_batch([], []) == []
    with pytest.raises(ValueError, match="same length"):
        model.score_batch(["a"], [])


def test_features_do_not_depend_on_the_batch() -> None:
    alone = ngram_matrix(["we know where you live"], bits=16).toarray()
    batch = ngram_matrix(["hello", "we know where you live", ""], bits=16).toarray()
    assert np.allclose(alone[0], batch[1])
    assert np.isclose(np.linalg.norm(batch[1]), 1.0)
    assert feature_matrix(["a"], ["xx"], bits=16).shape == (1, (1 << 16) + 6)


def test_the_shipped_model_loads_and_was_trained_only_on_redistributable_rows() -> None:
    model = load_classifier(None)
    assert isinstance(model, LinearModel)
    metadata = model.metadata
    assert {source["license"] for source in metadata["trained_on"]} <= {
        "MIT",
        "AGPL-3.0-or-later",
    }
    languages: set[str] = set()
    for source in metadata["trained_on"]:
        languages |= set(source["languages"])
    assert languages == {"en", "es", "fr", "ar", "ru", "pt"}
    assert model.score_batch(["je vais te tuer sale pute"], ["fr"])[0] > 0.5


def _copy(source: Path, target: Path) -> Path:
    target.mkdir()
    for name in ("model.json", "weights.npy"):
        (target / name).write_bytes((source / name).read_bytes())
    return target


def test_tampered_weights_are_refused(trained: Path, tmp_path: Path) -> None:
    copy = _copy(trained, tmp_path / "copy")
    weights = np.load(copy / "weights.npy")
    weights[0] += 1
    np.save(copy / "weights.npy", weights)
    with pytest.raises(ModelError, match="checksum"):
        LinearModel.load(copy)


def test_pickled_weights_are_never_loaded(trained: Path, tmp_path: Path) -> None:
    copy = _copy(trained, tmp_path / "copy")
    np.save(copy / "weights.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    metadata = json.loads((copy / "model.json").read_text("utf-8"))
    from hrdshield.detection.text.classifier import _sha256  # noqa: PLC0415

    metadata["files"]["weights.npy"] = _sha256(copy / "weights.npy")
    (copy / "model.json").write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(ModelError, match="not a plain numpy array"):
        LinearModel.load(copy)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "something-else"}, "not a hrdshield-abuse-linear model"),
        ({"format_version": 99}, "format_version is 99"),
        ({"normaliser_version": 0}, "normaliser_version is 0"),
        ({"intercept": "high"}, "intercept must be a number"),
    ],
)
def test_incompatible_metadata_is_refused(
    trained: Path, tmp_path: Path, change: dict[str, object], message: str
) -> None:
    copy = _copy(trained, tmp_path / "copy")
    metadata = json.loads((copy / "model.json").read_text("utf-8"))
    (copy / "model.json").write_text(json.dumps({**metadata, **change}), encoding="utf-8")
    with pytest.raises(ModelError, match=message):
        LinearModel.load(copy)


def test_directories_that_are_not_models_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such model directory"):
        load_classifier(tmp_path / "missing")
    with pytest.raises(ModelError, match="neither a linear model"):
        load_classifier(tmp_path)
    (tmp_path / "model.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_classifier(tmp_path)
    (tmp_path / "model.json").write_bytes(pickle.dumps({"format": "x"}))
    with pytest.raises(ModelError, match="not valid JSON"):
        load_classifier(tmp_path)


def test_the_setting_names_a_model_directory(tmp_path: Path) -> None:
    settings = load_settings(environ={"HRDSHIELD_ABUSE_MODEL": str(tmp_path)}, data_dir=tmp_path)
    assert settings.abuse_model == tmp_path
    assert load_settings(environ={"HRDSHIELD_ABUSE_MODEL": ""}).abuse_model is None
    assert load_settings(environ={}).abuse_model is None
    with pytest.raises(ConfigError, match=r"HRDSHIELD_ABUSE_MODEL: .*no such model directory"):
        load_settings(environ={"HRDSHIELD_ABUSE_MODEL": str(tmp_path / "missing")})
    assert default_model_directory().is_dir()


def test_labelled_files_are_read_with_licence_filters(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "rows.jsonl",
        [
            {"lang": "fr", "text": "a", "label": 1, "license": "MIT", "source": "x"},
            {"lang": "es", "text": "b", "label": 0, "license": "CC BY-NC 4.0"},
            {"text": "c", "label": 0},
        ],
    )
    assert [row.text for row in read_labelled(path)] == ["a", "b", "c"]
    (only,) = read_labelled(path, licenses=frozenset({"MIT"}))
    assert (only.lang, only.label, only.source, only.license) == ("fr", 1, "x", "MIT")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ("[1, 2]", "line 2: expected a JSON object"),
        ('{"text": "", "label": 1}', "line 2: text must be a non-empty string"),
        ('{"text": "x", "label": 2}', "line 2: label must be 0 or 1"),
        ('{"text": "x", "label": true}', "line 2: label must be 0 or 1"),
        ('{"text": "x", "label": 1, "lang": "de"}', "line 2: lang must be one of"),
    ],
)
def test_bad_training_lines_name_the_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "fine", "label": 0}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(TrainingDataError, match=message):
        read_labelled(path)


def test_training_needs_both_labels(tmp_path: Path) -> None:
    rows = [row for row in labelled_rows(1) if row["label"] == 1]
    path = write_jsonl(tmp_path / "rows.jsonl", rows)
    with pytest.raises(TrainingDataError, match="labelled 0"):
        train(read_labelled(path), name="x", bits=16, folds=2)


def test_quality_figures() -> None:
    figures = quality([1, 1, 0, 0], [True, False, True, False])
    assert (figures.precision, figures.recall, figures.f1) == (0.5, 0.5, 0.5)
    assert quality([0, 0], [False, False]).f1 == 0.0
    assert per_language([], []) == {"all": quality([], [])}


def test_the_fake_classifier_scores_by_keyword() -> None:
    fake = StaticClassifier(frozenset({"kill"}))
    assert fake.score_batch(["I will K1LL you", "hello"], [None, None]) == [0.95, 0.05]
