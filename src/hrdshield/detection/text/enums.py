"""Fixed vocabularies of the text layer, stored and printed by value."""

from __future__ import annotations

import enum

#: Languages with a lexicon, a language-identification profile and synthetic training examples.
LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "ar", "ru", "pt")


class Category(enum.Enum):
    """What kind of abuse a text is, in the words reviewers use."""

    THREAT = "threat"  # threatens violence against the person
    DOXXING = "doxxing"  # threatens through knowledge of where the person lives, works, studies
    INCITEMENT = "incitement"  # calls on others to harm, hunt down or silence the person
    SEXUAL = "sexual"  # sexualises the person or threatens sexual violence
    DEHUMANISATION = "dehumanisation"  # calls the person or their group vermin, disease, animals
    HARASSMENT = "harassment"  # insults, slurs and demands that the person disappear or die
    ABUSE = "abuse"  # the classifier finds it abusive and no lexicon rule says how


class Evasion(enum.Enum):
    """A trick used to slip abuse past filters, undone by normalisation."""

    INVISIBLE = "invisible characters"
    STYLED = "styled or full-width letters"
    COMBINING = "stacked combining marks"
    CONFUSABLE = "look-alike letters from another script"
    LEETSPEAK = "digits or symbols for letters"
    SPACING = "letters split by spaces or punctuation"
    ELONGATION = "stretched words"
