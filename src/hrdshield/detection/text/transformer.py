"""Plug-in: an operator-supplied local transformer model directory as the abuse classifier.

A multilingual transformer fine-tuned for toxicity (an XLM-R model, for example) reads the six
languages far better than the shipped linear model, but no such model may ship inside HRD Shield
and nothing may download one at run time. An operator who has one on disk points
``HRDSHIELD_ABUSE_MODEL`` at its directory (``config.json``, the tokenizer files and
``model.safetensors``) and installs the ``transformer`` extra (torch and transformers).

What this module guarantees:

- nothing is fetched: the hub is switched off (``HF_HUB_OFFLINE``, ``TRANSFORMERS_OFFLINE``) before
  transformers is imported, and every load is ``local_files_only``;
- no code from the directory runs: ``trust_remote_code`` is off and only safetensors weights are
  read (a pickled ``pytorch_model.bin`` is refused);
- inference is batched (``batch_size`` texts per forward pass, padded to the longest of the
  batch, truncated at ``max_length`` tokens) and runs without gradients.

Which output is "abusive" comes from the model's ``id2label``: the one label whose name says
toxic, abusive, offensive, hateful, insult or threat (and not "non-" or "not "); a single-logit
model is read through a sigmoid; otherwise the operator names the label.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hrdshield.detection.text.classifier import ModelError

DEFAULT_BATCH_SIZE = 32
DEFAULT_MAX_LENGTH = 256
_ABUSIVE_LABEL_RE = re.compile(r"toxic|abus|offens|hate|insult|threat|harass", re.IGNORECASE)
_NEGATED_LABEL_RE = re.compile(r"^(non|not|no)[\s_-]", re.IGNORECASE)


def _offline_imports() -> tuple[Any, Any]:
    """Import torch and transformers with every download path switched off."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        import torch  # noqa: PLC0415  (optional dependency)
        import transformers  # noqa: PLC0415
    except ImportError as error:
        raise ModelError(
            "a transformer model directory needs torch and transformers: "
            "pip install 'hrdshield[transformer]'"
        ) from error
    logging: Any = transformers.utils.logging
    logging.disable_progress_bar()  # no progress bars in the output of `classify`
    return torch, transformers


def abusive_label_index(id2label: dict[int, str], *, label: str | None = None) -> int:
    """Return the index of the output that means abusive, from the model's label names."""
    if label is not None:
        for index, name in id2label.items():
            if name == label:
                return int(index)
        raise ModelError(f"the model has no label {label!r}; it has {sorted(id2label.values())}")
    matches = [
        int(index)
        for index, name in id2label.items()
        if _ABUSIVE_LABEL_RE.search(name) and not _NEGATED_LABEL_RE.match(name)
    ]
    if len(matches) == 1:
        return matches[0]
    raise ModelError(
        f"cannot tell which of the labels {sorted(id2label.values())} means abusive; "
        "name it (TransformerClassifier(label=...))"
    )


class TransformerClassifier:
    """Scores micro-batches with a local sequence-classification transformer."""

    def __init__(
        self,
        directory: Path,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_length: int = DEFAULT_MAX_LENGTH,
        label: str | None = None,
    ) -> None:
        if batch_size < 1 or max_length < 8:
            raise ValueError("batch_size must be at least 1 and max_length at least 8")
        if not (directory / "config.json").is_file():
            raise ModelError(f"{directory}: no config.json; not a transformer model directory")
        if not any(directory.glob("*.safetensors")):
            raise ModelError(
                f"{directory}: no .safetensors weights; pickled weights are never loaded"
            )
        self._torch, transformers = _offline_imports()
        from safetensors import SafetensorError  # noqa: PLC0415  (installed with transformers)

        options = {"local_files_only": True, "trust_remote_code": False}
        try:
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(directory, **options)
            self._model = transformers.AutoModelForSequenceClassification.from_pretrained(
                directory, use_safetensors=True, **options
            )
        except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as error:
            raise ModelError(f"{directory}: cannot load the transformer: {error}") from error
        self._model.eval()
        labels = {int(key): str(value) for key, value in self._model.config.id2label.items()}
        self._single_logit = len(labels) == 1
        self._index = 0 if self._single_logit else abusive_label_index(labels, label=label)
        self.batch_size = batch_size
        self.max_length = max_length
        self._name = f"transformer:{directory.name}"

    @property
    def name(self) -> str:
        """Identify the model by its directory name."""
        return self._name

    def score_batch(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[float]:
        """Score texts in forward passes of at most batch_size texts each."""
        if len(texts) != len(langs):
            raise ValueError("texts and langs must have the same length")
        torch = self._torch
        scores: list[float] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = [
                text if text.strip() else " " for text in texts[start : start + self.batch_size]
            ]
            encoded = self._tokenizer(
                chunk,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            )
            with torch.inference_mode():
                logits = self._model(**encoded).logits
            if self._single_logit:
                probabilities = torch.sigmoid(logits[:, 0])
            else:
                probabilities = torch.softmax(logits, dim=-1)[:, self._index]
            scores.extend(float(value) for value in probabilities.tolist())
        return scores
