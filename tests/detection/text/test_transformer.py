"""The transformer plug-in, on a tiny randomly initialised XLM-R-style model built here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    PreTrainedTokenizerFast,
    XLMRobertaConfig,
    XLMRobertaForSequenceClassification,
)

from hrdshield.detection.text.classifier import ModelError, load_classifier
from hrdshield.detection.text.lexicon import Lexicon
from hrdshield.detection.text.scorer import AbuseScorer
from hrdshield.detection.text.transformer import TransformerClassifier, abusive_label_index

CORPUS = [
    "we know where you live",
    "te voy a matar",
    "on sait où tu habites",
    "نعرف أين تسكن",
    "мы знаем где ты живешь",
    "sabemos onde você mora",
    "good morning to the whole team",
]
SPECIAL = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def _tiny_model(directory: Path, *, labels: dict[int, str], bias: list[float]) -> Path:
    """Save a one-layer XLM-R classifier and a Unigram tokenizer trained on a few sentences."""
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.train_from_iterator(
        CORPUS * 3,
        trainers.UnigramTrainer(vocab_size=150, special_tokens=SPECIAL, unk_token="<unk>"),
    )
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        special_tokens=[
            ("<s>", tokenizer.token_to_id("<s>")),
            ("</s>", tokenizer.token_to_id("</s>")),
        ],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        cls_token="<s>",
        sep_token="</s>",
    )
    fast.save_pretrained(directory)
    config = XLMRobertaConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=80,
        num_labels=len(labels),
        id2label=labels,
        label2id={name: index for index, name in labels.items()},
        pad_token_id=fast.pad_token_id,
    )
    torch.manual_seed(0)
    model = XLMRobertaForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.out_proj.bias.copy_(torch.tensor(bias))
    model.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_model(
        tmp_path_factory.mktemp("xlmr"), labels={0: "non-toxic", 1: "toxic"}, bias=[-2.0, 2.0]
    )


def test_batched_inference_scores_every_text_like_one_at_a_time(tiny: Path) -> None:
    classifier = TransformerClassifier(tiny, batch_size=3)
    together = classifier.score_batch(CORPUS, [None] * len(CORPUS))
    alone = [classifier.score_batch([text], [None])[0] for text in CORPUS]
    assert len(together) == len(CORPUS)
    assert together == pytest.approx(alone, abs=1e-5)
    assert all(0.8 < score < 1.0 for score in together)  # the bias favours "toxic"
    assert classifier.score_batch(["", "x" * 5000], [None, None])[1] == pytest.approx(
        classifier.score_batch(["x" * 5000], [None])[0], abs=1e-5
    )
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert classifier.name == f"transformer:{tiny.name}"


def test_the_abusive_output_is_chosen_by_its_label(tmp_path: Path) -> None:
    swapped = _tiny_model(tmp_path, labels={0: "toxic", 1: "non-toxic"}, bias=[-2.0, 2.0])
    (score,) = TransformerClassifier(swapped).score_batch(["hello"], ["en"])
    assert score < 0.2


def test_the_plug_in_is_reached_through_the_model_setting_and_the_scorer(tiny: Path) -> None:
    classifier = load_classifier(tiny)
    assert isinstance(classifier, TransformerClassifier)
    scorer = AbuseScorer(classifier=classifier, lexicon=Lexicon.default(), batch_size=4)
    results = scorer.score_batch(CORPUS, ["en", "es", "fr", "ar", "ru", "pt", "en"])
    assert [result.classifier for result in results] == [classifier.name] * len(CORPUS)
    assert all(result.score >= 0.9 for result in results[:6])


def test_pickled_or_missing_weights_are_refused(tiny: Path, tmp_path: Path) -> None:
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (tmp_path / name).write_bytes((tiny / name).read_bytes())
    (tmp_path / "pytorch_model.bin").write_bytes(b"a pickle would be here")
    with pytest.raises(ModelError, match="pickled weights are never loaded"):
        TransformerClassifier(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"not really safetensors")
    with pytest.raises(ModelError, match="cannot load the transformer"):
        TransformerClassifier(tmp_path)


@pytest.mark.parametrize(
    ("labels", "chosen", "expected"),
    [
        ({0: "non-toxic", 1: "toxic"}, None, 1),
        ({0: "OFFENSIVE", 1: "NOT_OFFENSIVE"}, None, 0),
        ({0: "neutral", 1: "hate speech", 2: "not hate"}, None, 1),
        ({0: "LABEL_0", 1: "LABEL_1"}, "LABEL_1", 1),
    ],
)
def test_abusive_label_index(labels: dict[int, str], chosen: str | None, expected: int) -> None:
    assert abusive_label_index(labels, label=chosen) == expected


def test_unclear_labels_must_be_named() -> None:
    with pytest.raises(ModelError, match="cannot tell"):
        abusive_label_index({0: "LABEL_0", 1: "LABEL_1"})
    with pytest.raises(ModelError, match="has no label"):
        abusive_label_index({0: "a"}, label="b")
