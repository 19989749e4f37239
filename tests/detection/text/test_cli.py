"""`hrdshield classify` and `hrdshield model train`, run through click with real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hrdshield import cli
from tests.detection.text.conftest import labelled_rows, write_jsonl


def _run(arguments: list[str], tmp_path: Path, stdin: str | bytes = "") -> Result:
    environment = {"HRDSHIELD_DATA_DIR": str(tmp_path / "data")}
    return CliRunner().invoke(cli.main, arguments, input=stdin, env=environment)


def _records(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines()]


def test_classify_writes_one_line_per_input_line(tmp_path: Path) -> None:
    lines = [
        {"text": "we know where you live", "lang": "en", "id": "a", "label": 1},
        {"text": "Sabemos dónde vives"},
        {"text": "bonne journée à toutes", "id": 3},
    ]
    stdin = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    result = _run(["classify", "--batch-size", "2"], tmp_path, stdin)
    assert result.exit_code == 0, result.output
    first, second, third = _records(result.stdout)
    assert (first["line"], first["id"], first["label"], first["lang"]) == (1, "a", 1, "en")
    assert first["category"] == "doxxing"
    assert first["rules"] == [
        {"id": "en.doxxing.know-where", "category": "doxxing", "weight": 0.9, "span": [3, 22]}
    ]
    assert (second["lang"], second["category"]) == ("es", "doxxing")
    assert isinstance(first["score"], float)
    assert first["score"] >= 0.9
    assert (third["line"], third["id"], third["rules"]) == (3, 3, [])
    assert third["score"] < 0.5
    assert {"classifier_score", "classifier", "why", "evasions", "contexts"} <= set(first)


def test_malformed_lines_get_their_own_error_and_the_stream_goes_on(tmp_path: Path) -> None:
    stdin = "\n".join(
        [
            '{"text": "te voy a matar"}',
            "{not json",
            "[1, 2, 3]",
            '{"lang": "en"}',
            '{"text": 42}',
            '{"text": "ok", "lang": 7}',
            "",
            '{"text": "good morning", "lang": "EN"}',
        ]
    )
    not_utf8 = (stdin + "\n").encode() + b'{"text": "caf\xe9"}\n'
    result = _run(["classify"], tmp_path, not_utf8)
    assert result.exit_code == 1
    records = _records(result.stdout)
    assert [record["line"] for record in records] == [1, 2, 3, 4, 5, 6, 8, 9]
    assert records[7]["error"] == "not UTF-8 text (byte 14)"
    assert records[0]["category"] == "threat"
    assert records[1]["error"].startswith("not valid JSON")
    assert records[2]["error"] == "expected a JSON object with a text field"
    assert records[3]["error"] == "text must be a string"
    assert records[4]["error"] == "text must be a string"
    assert records[5]["error"] == "lang must be a string or absent"
    assert records[6]["lang"] == "en"
    assert "6 of 8 lines could not be read" in result.stderr


def test_classify_refuses_a_directory_that_is_not_a_model(tmp_path: Path) -> None:
    result = _run(["classify", "--model", str(tmp_path)], tmp_path, '{"text": "x"}\n')
    assert result.exit_code == 1
    assert "neither a linear model" in result.output


def test_model_train_writes_a_model_that_classify_loads(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "labelled.jsonl", labelled_rows(3))
    out = tmp_path / "model"
    result = _run(
        [
            "model",
            "train",
            "--data",
            str(data),
            "--out",
            str(out),
            "--folds",
            "3",
            "--bits",
            "16",
            "--name",
            "helpline",
        ],
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert "72 labelled rows: en 24, es 12, fr 12, pt 12, ru 12" in result.stderr
    assert "cross-validating and training" in result.stderr
    table = result.stdout.splitlines()
    assert table[0] == "cross-validated quality (3 folds, threshold 0.5):"
    assert table[1].split() == ["lang", "rows", "abusive", "precision", "recall", "f1"]
    assert [line.split()[0] for line in table[2:8]] == ["en", "es", "fr", "pt", "ru", "all"]
    assert table[2].split()[1:3] == ["24", "12"]
    assert f"HRDSHIELD_ABUSE_MODEL={out}" in table[-1]
    metadata = json.loads((out / "model.json").read_text("utf-8"))
    assert metadata["name"] == "helpline"

    scored = _run(
        ["classify", "--model", str(out)], tmp_path, '{"text": "you idiot", "lang": "en"}\n'
    )
    assert scored.exit_code == 0, scored.output
    (record,) = _records(scored.stdout)
    assert record["classifier"] == "linear:helpline@1"
    assert record["classifier_score"] > 0.5

    again = _run(["model", "train", "--data", str(data), "--out", str(out)], tmp_path)
    assert again.exit_code == 1
    assert "pass --force" in again.output


def test_model_train_defaults_to_the_data_folder_and_adds_synthetic_examples(
    tmp_path: Path,
) -> None:
    data = write_jsonl(tmp_path / "labelled.jsonl", labelled_rows(1))
    result = _run(
        ["model", "train", "--data", str(data), "--with-synthetic", "--folds", "2", "--bits", "16"],
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    metadata = json.loads((tmp_path / "data" / "abuse-model" / "model.json").read_text("utf-8"))
    sources = {source["source"]: source["rows"] for source in metadata["trained_on"]}
    assert sources["unknown"] == 24
    assert sources["hrdshield:synthetic"] > 300
    assert {"ar", "en", "es", "fr", "pt", "ru"} <= set(metadata["cross_validation"])


def test_model_train_filters_by_licence_and_explains_bad_data(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "labelled.jsonl", labelled_rows(2, license_name="CC BY-NC 4.0"))
    filtered = _run(
        ["model", "train", "--data", str(data), "--license", "MIT", "--out", str(tmp_path / "m")],
        tmp_path,
    )
    assert filtered.exit_code == 1
    assert "need at least 5 examples labelled 0, found 0" in filtered.output
    assert not (tmp_path / "m").exists()

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "fine", "label": 0}\n{"text": "x", "label": "yes"}\n', "utf-8")
    result = _run(["model", "train", "--data", str(broken)], tmp_path)
    assert result.exit_code == 1
    assert f"{broken}, line 2: label must be 0 or 1" in result.output


@pytest.mark.parametrize("command", [["classify"], ["model"], ["model", "train"]])
def test_help(command: list[str], tmp_path: Path) -> None:
    result = _run([*command, "--help"], tmp_path)
    assert result.exit_code == 0
    assert "Usage:" in result.output
