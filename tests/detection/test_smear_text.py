"""What the smear-campaign detector reads in a text, and its MinHash estimates."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hrdshield.detection.detectors import minhash
from hrdshield.detection.detectors.smear_text import canonical_link, excerpt, features


def bold(text: str) -> str:
    """Return `text` in mathematical bold letters, as fancy-font generators write it."""
    return "".join(
        chr(0x1D400 + ord(char) - ord("A"))
        if "A" <= char <= "Z"
        else chr(0x1D41A + ord(char) - ord("a"))
        if "a" <= char <= "z"
        else char
        for char in text
    )


@pytest.mark.parametrize(
    "written",
    [
        "https://smear.example/amara-exposed",
        "http://www.smear.example/amara-exposed/",
        "HTTPS://WWW.SMEAR.EXAMPLE/amara-exposed?utm_source=x&utm_medium=y",
        "https://m.smear.example:443/amara-exposed?fbclid=abc#comments",
        "smear.example/amara-exposed?igshid=1&si=2",
        "https://smear.example//amara-exposed).",
    ],
)
def test_one_page_shared_many_ways_gives_one_link(written: str) -> None:
    assert canonical_link(written) == ("smear.example/amara-exposed", "smear.example")


def test_general_purpose_sites_give_links_but_no_shared_domain() -> None:
    found = features("watch https://www.youtube.com/watch?v=a1 and https://en.wikipedia.org/wiki/B")
    assert found.links == ("youtube.com/watch?v=a1", "en.wikipedia.org/wiki/B")
    assert found.domains == ()
    assert features("https://news.example/a https://news.example/b").domains == ("news.example",)


def test_parameters_that_choose_the_page_are_kept_and_sorted() -> None:
    link = canonical_link("https://video.example/watch?v=abc123&utm_source=x&list=q9")
    assert link == ("video.example/watch?list=q9&v=abc123", "video.example")
    assert canonical_link("https://localhost/path") is None


def test_links_handles_and_hashtags_are_read_out_of_the_text() -> None:
    found = features(
        "RT @someone: Look at this #Amara_Exposed #amaraexposed https://smear.example/x?utm_id=1"
        " and www.other.example/page, write to reader@example.com"
    )
    assert found.links == ("smear.example/x", "other.example/page")
    assert found.domains == ("smear.example", "other.example")
    assert found.hashtags == ("amaraexposed",)
    assert found.retweet_of == "someone"
    assert found.groups == (
        "link:smear.example/x",
        "link:other.example/page",
        "domain:smear.example",
        "domain:other.example",
        "tag:amaraexposed",
    )
    assert "someone" not in found.text
    assert "smear" not in found.text
    assert found.text.startswith("look at this amara exposed")


@pytest.mark.parametrize(
    "written",
    [
        "She LIES to you every day",
        "She lies 🤥🤥 to you, every day!!!",
        "She l\u200bies to you every\u00adday 2026",
        bold("She lies") + " to you every day",  # mathematical bold letters
        "She l-i-e-s to you every day",
        "Sh\u0435 li\u0435s to y\u043eu every day",  # Cyrillic look-alikes
        "S\u0336h\u0336e\u0336 lies to you every day",  # struck-through combining marks
    ],
)
def test_cheap_edits_normalise_away(written: str) -> None:
    assert features(written).text in {"she lies to you every day", "she lies to you everyday"}


def test_stretched_letters_fold_to_two() -> None:
    assert features("She liiiiiiies to you").text == features("she liies to you").text
    assert features("She liiiiiiies to you").text == "she liies to you"


def test_texts_in_other_scripts_keep_their_words() -> None:
    assert features("¡No confíen en sus informes!").text == "no confíen en sus informes"
    arabic = features("لا تثقوا في تقاريرها").text
    assert arabic == features("لا تَثِقوا في تقاريرها").text  # tashkeel folded
    assert arabic.split() == ["لا", "تثقوا", "في", "تقاريرها"]


def test_estimates_follow_the_true_jaccard_similarity() -> None:
    first = features("the quick brown fox jumps over the lazy dog near the river bank today").text
    for second in (
        first,
        first.replace("fox", "cat"),
        first.replace("quick brown", "slow grey"),
        "a completely different sentence about gardens and weather in spring",
    ):
        truth = len(_shingles(first) & _shingles(second)) / len(
            _shingles(first) | _shingles(second)
        )
        estimate = minhash.similarity(minhash.signature(first), minhash.signature(second)[None, :])
        assert abs(float(estimate[0]) - truth) < 0.2


def test_signatures_are_the_same_in_every_process() -> None:
    text = "signatures are recomputed from stored texts after a restart"
    script = (
        "import json; from hrdshield.detection.detectors import minhash;"
        f"print(json.dumps(minhash.signature({text!r}).tolist()))"
    )
    outputs = [
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            check=True,
            text=True,
            env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    assert json.loads(outputs[0]) == json.loads(outputs[1]) == minhash.signature(text).tolist()


def test_a_short_text_still_has_a_signature_and_excerpts_stay_short() -> None:
    assert minhash.signature("abc").shape == (minhash.NUM_PERM,)
    assert excerpt("word " * 100, 40).endswith("\u2026")
    assert len(excerpt("word " * 100, 40)) == 40
    assert excerpt("  two\nlines ") == "two lines"


def _shingles(text: str) -> set[str]:
    return {text[start : start + 5] for start in range(len(text) - 4)}
