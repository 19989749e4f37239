"""The ``hrdshield classify`` and ``hrdshield model train`` commands (registered in ``cli.py``).

``classify`` turns the scorer into a filter over JSON lines, so that any labelled set can be
measured with the exact code the detector runs. A bad input line gets its own error line and the
stream goes on: one broken record must not hide the thousands after it.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from hrdshield.detection.text.enums import LANGUAGES

if TYPE_CHECKING:
    from hrdshield.cli import Runtime
    from hrdshield.detection.text.scorer import AbuseScorer
    from hrdshield.detection.text.training import Quality

MAX_LINE_BYTES = 400_000
SYNTHETIC_EXAMPLES = "examples/synthetic.jsonl"


class BadLine(Exception):
    """An input line that cannot be scored; the message is written on its output line."""


def _parse(raw: bytes) -> tuple[str, str | None, dict[str, Any]]:
    """Return text, lang and pass-through fields of one input line, or raise BadLine."""
    if len(raw) > MAX_LINE_BYTES:
        raise BadLine(f"line longer than {MAX_LINE_BYTES} bytes")
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadLine(f"not UTF-8 text (byte {error.start + 1})") from error
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        raise BadLine(f"not valid JSON ({error.msg} at column {error.colno})") from error
    if not isinstance(value, dict):
        raise BadLine("expected a JSON object with a text field")
    text, lang = value.get("text"), value.get("lang")
    if not isinstance(text, str):
        raise BadLine("text must be a string")
    if lang is not None and not isinstance(lang, str):
        raise BadLine("lang must be a string or absent")
    extra = {key: value[key] for key in ("id", "label") if key in value}
    return text, (lang.strip().lower() or None) if lang else None, extra


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line


def _write(output: IO[str], record: dict[str, Any]) -> None:
    output.write(json.dumps(record, ensure_ascii=False) + "\n")


def _flush(scorer: AbuseScorer, pending: list[tuple[int, Any]], output: IO[str]) -> None:
    """Score the valid lines of a batch together, then write every line's result in order."""
    valid = [(number, item) for number, item in pending if not isinstance(item, str)]
    assessments = iter(
        scorer.score_batch([item[0] for _, item in valid], [item[1] for _, item in valid])
    )
    for number, item in pending:
        if isinstance(item, str):
            _write(output, {"line": number, "error": item})
        else:
            _write(output, {"line": number, **item[2], **next(assessments).as_dict()})
    output.flush()


@click.command()
@click.option(
    "--model",
    "model_directory",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Model directory; default: HRDSHIELD_ABUSE_MODEL, else the shipped model.",
)
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(1, 4096))
@click.pass_obj
def classify(runtime: Runtime, model_directory: Path | None, batch_size: int) -> None:
    """Score JSON lines from standard input for abuse; write one JSON line per input line.

    Each input line is an object with "text" and optionally "lang" (en, es, fr, ar, ru, pt;
    detected when absent), "id" and "label" (copied to the output). Each output line has the
    score, the language, the category, the lexicon rules that matched with their spans, the
    classifier's score and why. A line that cannot be read gets {"line": N, "error": "..."}
    and the rest are still scored; the exit status is 1 if any line failed.
    """
    from hrdshield.detection.text.classifier import ModelError  # noqa: PLC0415
    from hrdshield.detection.text.scorer import AbuseScorer  # noqa: PLC0415

    directory = model_directory or runtime.settings.abuse_model
    try:
        scorer = AbuseScorer.from_model_directory(directory, batch_size=batch_size)
    except ModelError as error:
        raise click.ClickException(str(error)) from error
    output = sys.stdout
    pending: list[tuple[int, Any]] = []
    failed = total = 0
    for number, line in _lines(sys.stdin.buffer):
        total += 1
        try:
            pending.append((number, _parse(line)))
        except BadLine as error:
            failed += 1
            pending.append((number, str(error)))
        if len(pending) >= batch_size:
            _flush(scorer, pending, output)
            pending = []
    if pending:
        _flush(scorer, pending, output)
    if failed:
        click.echo(f"{failed} of {total} lines could not be read (see their error lines)", err=True)
        sys.exit(1)


@click.group("model")
def model() -> None:
    """The abuse classifier's model: train one on labelled data."""


def _table(report: dict[str, Quality]) -> str:
    lines = [f"{'lang':<5} {'rows':>7} {'abusive':>8} {'precision':>9} {'recall':>7} {'f1':>6}"]
    for lang, figures in report.items():
        lines.append(
            f"{lang:<5} {figures.support:>7} {figures.positives:>8} {figures.precision:>9.3f} "
            f"{figures.recall:>7.3f} {figures.f1:>6.3f}"
        )
    return "\n".join(lines)


def _prepare_output(out: Path, *, force: bool) -> None:
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return
    if not force:
        raise click.ClickException(f"{out} exists; pass --force to replace the model in it")
    if not (out / "model.json").is_file():
        raise click.ClickException(f"{out} is not a model directory; refusing to replace it")


@model.command("train")
@click.option(
    "--data",
    "data_files",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help='JSON lines with "lang", "text" and "label" (0 or 1); repeat for several files.',
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Model directory to write; default: DATA_DIR/abuse-model.",
)
@click.option(
    "--license",
    "licenses",
    multiple=True,
    help='Train only on rows whose "license" field is this; repeat to allow several.',
)
@click.option(
    "--with-synthetic",
    is_flag=True,
    help="Add the project's synthetic examples and hard negatives.",
)
@click.option("--name", default="operator", show_default=True, help="Name recorded in the model.")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20))
@click.option(
    "--bits",
    default=20,
    show_default=True,
    type=click.IntRange(16, 24),
    help="Hash 2**bits n-gram features (20: a 4 MB model).",
)
@click.option(
    "--c",
    "regularisation",
    default=4.0,
    show_default=True,
    type=click.FloatRange(0.001, 1000.0),
    help="Inverse regularisation strength.",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--force", is_flag=True, help="Replace an existing model directory.")
@click.pass_obj
def train(
    runtime: Runtime,
    data_files: tuple[Path, ...],
    out: Path | None,
    licenses: tuple[str, ...],
    with_synthetic: bool,
    name: str,
    folds: int,
    bits: int,
    regularisation: float,
    seed: int,
    force: bool,
) -> None:
    """Train the linear abuse model and print its cross-validated quality per language.

    Use only data you are entitled to use; the sources and licences of the rows are recorded in
    the model's model.json. Point HRDSHIELD_ABUSE_MODEL at the written directory to use it.
    """
    from importlib import resources  # noqa: PLC0415

    from hrdshield.detection.text import training  # noqa: PLC0415  (keeps --help light)

    out = out or runtime.settings.data_dir / "abuse-model"
    _prepare_output(out, force=force)
    allowed = frozenset(licenses) if licenses else None
    rows: list[training.LabelledText] = []
    try:
        for path in data_files:
            rows += training.read_labelled(path, licenses=allowed)
        if with_synthetic:
            examples = resources.files("hrdshield.detection.text") / SYNTHETIC_EXAMPLES
            with resources.as_file(examples) as path:
                rows += training.read_labelled(path)
    except training.TrainingDataError as error:
        raise click.ClickException(str(error)) from error
    counts = Counter(row.lang or "und" for row in rows)
    click.echo(
        f"{len(rows)} labelled rows: "
        + ", ".join(f"{lang} {count}" for lang, count in sorted(counts.items())),
        err=True,
    )
    unknown = sorted(set(counts) - set(LANGUAGES))
    if unknown:
        click.echo(f"rows without a language are trained without its bias: {unknown}", err=True)
    try:
        with click.progressbar(
            length=training.steps(folds), label="cross-validating and training", file=sys.stderr
        ) as bar:
            result = training.train(
                rows,
                name=name,
                bits=bits,
                c=regularisation,
                folds=folds,
                seed=seed,
                progress=bar.update,
            )
    except training.TrainingDataError as error:
        raise click.ClickException(str(error)) from error
    staging = out.with_name(f".{out.name}.{secrets.token_hex(4)}")
    result.model.save(staging)
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
    click.echo(f"cross-validated quality ({folds} folds, threshold 0.5):")
    click.echo(_table(result.cross_validation))
    click.echo(f"model written to {out}; use it with HRDSHIELD_ABUSE_MODEL={out}")
