"""Finding personal data in a post's text: phones, e-mail addresses, ids, addresses, places.

The doxxing detector reads every post, reply, mention and message, so this module is built
cheap first. `prepare` decides in about a microsecond whether a text can hold personal data at
all (a digit, an at sign or an "at" word, a run of digits spelled out in words); most texts stop
there. The finders then return *candidates*: the E.164 numbers a text may contain (every region
that matters is tried for numbers written in national form), e-mail addresses written plainly
or obfuscated ("amara at example dot test"), and windows of words around numbers that may be a
national id or a home address. Candidates are only ever looked up as keyed hashes of enrolled
identifiers, so a wrong candidate costs a lookup, never an alert. The shapes of personal data
(coordinates, street addresses, id numbers) are separate finders, for texts aimed at a defender.

Nothing here keeps, logs or returns more of the text than the candidates themselves.
"""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import phonenumbers
from phonenumbers import Leniency, PhoneMetadata, PhoneNumberFormat, PhoneNumberMatcher

MAX_NUMBER_TOKENS = 24  # words with digits around which id and address windows are built
MAX_WINDOWS = 600  # windows looked up per text and kind, whatever the text
MAX_PHONE_TRIES = 24  # candidates phonenumbers may reject before it gives up on a text

_DIGIT_WORDS = {
    **dict.fromkeys(("zero", "oh", "cero", "zéro", "ноль", "صفر"), "0"),
    **dict.fromkeys(("one", "uno", "un", "une", "um", "uma", "один", "واحد"), "1"),
    **dict.fromkeys(("two", "dos", "deux", "dois", "duas", "два", "اثنان"), "2"),
    **dict.fromkeys(("three", "tres", "trois", "três", "три", "ثلاثة"), "3"),
    **dict.fromkeys(("four", "cuatro", "quatre", "quatro", "четыре", "أربعة"), "4"),
    **dict.fromkeys(("five", "cinco", "cinq", "пять", "خمسة"), "5"),
    **dict.fromkeys(("six", "seis", "шесть", "ستة"), "6"),
    **dict.fromkeys(("seven", "siete", "sept", "sete", "семь", "سبعة"), "7"),
    **dict.fromkeys(("eight", "ocho", "huit", "oito", "восемь", "ثمانية"), "8"),
    **dict.fromkeys(("nine", "nueve", "neuf", "nove", "девять", "تسعة"), "9"),
}
SPELLED_RUN = 4  # digit words in a row before they are read as a number
_SPELLED = re.compile(
    r"(?i)(?<!\w)(?:(?:" + "|".join(sorted(_DIGIT_WORDS, key=len, reverse=True)) + r")"
    r"(?:[\s,.\-]+|$)){" + str(SPELLED_RUN) + ",}"
)
_SPELLED_WORD = re.compile(r"\w+")
_SEPARATOR_WORDS = re.compile(
    r"(?i)(?<=\d)\s*\b(?:dash|hyphen|dot|point|punto|gui[oó]n|tiret|ponto|tra[cç]o|space)\b\s*(?=\d)"
)
_INTERNATIONAL_PREFIX = re.compile(r"(?<![\w+])00(?=\s?[1-9])")
_ANY_DIGIT = re.compile(r"\d")
_AT_HINTS = (" at ", "(at)", "[at]", "{at}", "<at>", "arroba", "arobase")
_WORD_BREAKS = str.maketrans(dict.fromkeys(",.;:!?-", " "))
# Every decimal digit of every script (Arabic-Indic, Devanagari...) as an ASCII digit.
_ASCII_DIGITS = {
    code: str(unicodedata.decimal(chr(code)))
    for code in range(0x0660, 0x1C5A)
    if unicodedata.category(chr(code)) == "Nd"
}


@dataclass(frozen=True, slots=True)
class Prepared:
    """A text made ready for the finders: compatibility forms folded, digits in ASCII."""

    text: str  # NFKC, every script's digits as ASCII digits
    phone_text: str  # ... and digits spelled out in words as digits, "00" prefixes as "+"
    spelled: tuple[tuple[int, int], ...] = ()  # spans of phone_text that were spelled out
    digits: bool = False
    email_hint: bool = False


def prepare(text: str) -> Prepared | None:
    """Return `text` made ready for the finders, or None when it cannot hold personal data."""
    digits = _ANY_DIGIT.search(text) is not None
    lowered = text.lower()
    email_hint = "@" in text or "\uff20" in text or any(hint in lowered for hint in _AT_HINTS)
    spelled_hint = _has_spelled_run(lowered)
    if not (digits or email_hint or spelled_hint):
        return None
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_ASCII_DIGITS)
    phone_text, spelled = _spell_out(text) if spelled_hint else (text, ())
    if digits or spelled:
        phone_text = _SEPARATOR_WORDS.sub(" ", phone_text)
        phone_text = _INTERNATIONAL_PREFIX.sub("+", phone_text)
    return Prepared(text, phone_text, spelled, digits or bool(spelled), email_hint)


def _has_spelled_run(lowered: str) -> bool:
    words = lowered.translate(_WORD_BREAKS).split()
    if sum(map(_DIGIT_WORDS.__contains__, words)) < SPELLED_RUN:
        return False  # the common case ("one of the two"), counted in C
    run = 0
    for word in words:
        if word in _DIGIT_WORDS:
            run += 1
            if run >= SPELLED_RUN:
                return True
        else:
            run = 0
    return False


def _spell_out(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    at = length = 0
    for found in _SPELLED.finditer(text):
        pieces.append(text[at : found.start()])
        length += found.start() - at
        digits = "".join(
            _DIGIT_WORDS[word.lower()] for word in _SPELLED_WORD.findall(found.group())
        )
        spans.append((length, length + len(digits)))
        pieces.append(digits + " ")
        length += len(digits) + 1
        at = found.end()
    pieces.append(text[at:])
    return "".join(pieces), tuple(spans)


# --- phones -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PhoneCandidate:
    """One way to read a number found in the text: E.164, and how it was written."""

    e164: str
    form: str  # "international", "national" or "spelled_out"
    raw: str


# A run of digits and the separators people put in phone numbers; the matcher reads each run.
_PHONE_RUN = re.compile(r"[+(]?\d[\d \t().\-/]{5,60}\d")
MIN_PHONE_DIGITS = 7


def phones(prepared: Prepared, regions: Sequence[str]) -> list[PhoneCandidate]:
    """Return every E.164 reading of the numbers in the text: as written, then in `regions`."""
    text = prepared.phone_text
    primary = regions[0] if regions else None
    groups = _reading_groups(tuple(regions[1:]))
    found: dict[str, PhoneCandidate] = {}
    runs = [
        run
        for run in _PHONE_RUN.finditer(text)
        if sum(char.isdigit() for char in run.group()) >= MIN_PHONE_DIGITS
        and not _DATE.match(run.group())
    ]
    for run in runs[:MAX_NUMBER_TOKENS]:
        matcher = PhoneNumberMatcher(
            run.group(), primary, leniency=Leniency.POSSIBLE, max_tries=MAX_PHONE_TRIES
        )
        for match in matcher:
            raw = match.raw_string
            at = run.start() + match.start
            international = raw.lstrip("( ").startswith("+")
            spelled = any(start <= at < end for start, end in prepared.spelled)
            form = "spelled_out" if spelled else "international" if international else "national"
            e164 = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
            found.setdefault(e164, PhoneCandidate(e164, form, raw))
            if not international:
                for other in _readings(raw, groups):
                    found.setdefault(other, PhoneCandidate(other, form, raw))
    return list(found.values())


@functools.lru_cache(maxsize=256)
def _reading_groups(regions: tuple[str, ...]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Group regions whose national prefixes are stripped alike: one parse serves a group."""
    groups: dict[tuple[str | None, str | None], list[str]] = {}
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is not None:
            rule = (metadata.national_prefix_for_parsing, metadata.national_prefix_transform_rule)
            groups.setdefault(rule, []).append(region)
    return tuple(
        (members[0], tuple(sorted({phonenumbers.country_code_for_region(m) for m in members})))
        for members in groups.values()
    )


def _readings(raw: str, groups: tuple[tuple[str, tuple[int, ...]], ...]) -> Iterator[str]:
    """Yield the E.164 forms of a nationally written number in each group's country codes."""
    for region, codes in groups:
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        significant = phonenumbers.national_significant_number(number)
        for code in codes:
            yield f"+{code}{significant}"


_DATE = re.compile(r"^\(?\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\)?$")  # 2026-11-30, 30/11/2026
_NOT_A_PHONE_BEFORE = re.compile(
    r"(?i)(?:order|pedido|commande|encomenda|ref|invoice|factura|facture|tracking|n[º°o]\.?|#"
    r"|[$€£¥₹₽₦]|usd|eur|ksh|mxn)\s*[:.#]?\s*$"
)


def phone_shaped(candidate: PhoneCandidate, text: str, region: str) -> bool:
    """Return whether a candidate looks like someone's phone number, not a date, price or order."""
    digits = sum(char.isdigit() for char in candidate.raw)
    if digits < 7 or _DATE.match(candidate.raw.strip()):
        return False
    at = text.find(candidate.raw)
    if at >= 0 and _NOT_A_PHONE_BEFORE.search(text[max(0, at - 16) : at]):
        return False
    try:
        number = phonenumbers.parse(candidate.raw, region)
    except phonenumbers.NumberParseException:
        return False
    if candidate.form == "international":
        return digits >= 8 and phonenumbers.is_possible_number(number)
    return phonenumbers.is_valid_number(number)


# --- e-mail addresses ---------------------------------------------------------------------------

_AT = re.compile(
    r"(?i)\s*[\[({<]\s*(?:at|@|arroba|arobase)\s*[\])}>]\s*|\s+(?:at|arroba|arobase)\s+|\s*@\s*"
)
_DOT = (
    r"(?:\s*[\[({<]\s*(?:dot|punto|point|ponto|\.)\s*[\])}>]\s*"
    r"|\s+(?:dot|punto|point|ponto)\s+|\s+\.\s+|\.)"
)
_LABEL = r"[^\W_](?:[\w\-]{0,61}[^\W_])?"
_LOCAL = re.compile(r"[^\W_][\w.+\-]{0,63}$")  # read backwards from the at: see emails()
_DOMAIN = re.compile(rf"(?i){_LABEL}(?:{_DOT}{_LABEL})+")
_DOT_SPLIT = re.compile(rf"(?i){_DOT}")
_LOCAL_LENGTH = 64  # RFC 5321
_DOMAIN_LENGTH = 255
MAX_EMAILS = 50  # at signs (or "at" words) read per text


def emails(prepared: Prepared) -> dict[str, str]:
    """Return candidate e-mail addresses, each with its form ("plain" or "obfuscated")."""
    found: dict[str, str] = {}
    if not prepared.email_hint:
        return found
    text = prepared.text
    # Each at sign is read on its own, within the lengths an address may have: one pattern over
    # the whole text would backtrack quadratically on a long run of letters before an "@".
    for number, at in enumerate(_AT.finditer(text)):
        if number >= MAX_EMAILS:
            break
        before = text[max(0, at.start() - _LOCAL_LENGTH) : at.start()]
        local = _LOCAL.search(before)
        domain = _DOMAIN.match(text, at.end(), at.end() + _DOMAIN_LENGTH)
        if local is None or domain is None:
            continue
        name = local.group().lstrip(".+-")
        plain = at.group() == "@" and "." in domain.group() and " " not in domain.group()
        labels = _DOT_SPLIT.split(domain.group())
        # "amara at example dot test. Call" ends in "test.call": try each length of domain.
        for count in range(2, len(labels) + 1):
            found.setdefault(
                f"{name}@{'.'.join(labels[:count])}", "plain" if plain else "obfuscated"
            )
    return found


# --- windows of words around numbers (national ids, home addresses) -----------------------------


_PRIMES = "'\u2032\u2019"  # apostrophe, prime, right single quotation mark
_DOUBLE_PRIMES = '"\u2033\u201d'  # quotation mark, double prime, right double quotation mark
_EDGES = "!?¡¿«»()[]{}<>,;:.…\u201c\u2018" + _PRIMES + _DOUBLE_PRIMES


def _strip_edges(word: str) -> str:
    stripped = word.strip(_EDGES)
    return stripped or word


def _has_word(text: str) -> bool:
    return any(char.isalnum() for char in text)


def _spans(words: Sequence[str], centres: Sequence[int], sizes: range) -> Iterator[tuple[int, int]]:
    """Yield each span of words of a size in `sizes` that holds a centre, shortest first."""
    seen: set[tuple[int, int]] = set()
    for size in sizes:
        for at in centres[:MAX_NUMBER_TOKENS]:
            for start in range(max(0, at - size + 1), at + 1):
                end = start + size
                if end > len(words) or (start, end) in seen:
                    continue
                seen.add((start, end))
                if len(seen) > MAX_WINDOWS:
                    return
                yield start, end


MIN_ID_DIGITS = 4  # a national id has at least this many digits
MAX_ID_LENGTH = 40


def id_windows(prepared: Prepared, longest: int, canonical: Callable[[str], str]) -> Iterator[str]:
    """Yield canonical national-id candidates: runs of up to `longest` words with digits."""
    words = prepared.text.split()
    centres = [at for at, word in enumerate(words) if _ANY_DIGIT.search(word)]
    folded: dict[int, str] = {}

    def fold(at: int) -> str:
        if at not in folded:
            try:
                folded[at] = canonical(_strip_edges(words[at]))
            except ValueError:
                folded[at] = ""
        return folded[at]

    for start, end in _spans(words, centres, range(1, longest + 1)):
        value = "".join(fold(at) for at in range(start, end))
        if len(value) <= MAX_ID_LENGTH and sum(c.isdigit() for c in value) >= MIN_ID_DIGITS:
            yield value


_ADDRESS_CHUNK = 280  # canonical() takes at most 300 characters
_HOUSE_DIGITS = 6  # a word with more digits than this is no house number or postcode


def address_windows(
    prepared: Prepared, longest: int, canonical: Callable[[str], str]
) -> Iterator[str]:
    """Yield canonical address candidates: runs of 2 to `longest` words around a house number."""
    words = _address_words(prepared.text, canonical)
    centres = [
        at
        for at, word in enumerate(words)
        if not word.startswith("+") and 0 < sum(c.isdigit() for c in word) <= _HOUSE_DIGITS
    ]
    for start, end in _spans(words, centres, range(2, longest + 1)):
        yield " ".join(words[start:end])


def _address_words(text: str, canonical: Callable[[str], str]) -> list[str]:
    """Return the text's words canonicalised as addresses are (`canonical` does one chunk)."""
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for word in [*text.split(), None]:
        if word is not None and size + len(word) < _ADDRESS_CHUNK:
            chunk.append(word)
            size += len(word) + 1
            continue
        if chunk:
            with contextlib.suppress(ValueError):  # a chunk of punctuation only
                canonical_words = canonical(" ".join(chunk)).split()
                words.extend(_strip_edges(item) for item in canonical_words if _has_word(item))
        chunk, size = ([word], len(word) + 1) if word is not None else ([], 0)
    return words


# --- shapes of personal data, for texts aimed at a defender -------------------------------------

_NUMBER = r"[-+]?\d{1,3}\.\d{%d,}"
_CURRENCY = "$€£¥₹₽₦"


def coordinates(text: str, decimals: int) -> list[str]:
    """Return the forms of precise coordinates in `text` (decimal, DMS, map link), if any."""
    forms = []
    for form, pattern in _coordinate_patterns(decimals):
        for match in pattern.finditer(text):
            if _plausible(match):
                forms.append(form)
                break
    return forms


def _plausible(match: re.Match[str]) -> bool:
    try:
        latitude, longitude = match["lat"], match["lng"]
    except IndexError:
        return True  # degrees-minutes-seconds: the pattern bounds them
    if latitude.endswith("0") and longitude.endswith("0"):
        return False  # "1.500, 2.750": amounts with thousands separators, not a place
    return abs(float(latitude)) <= 90 and abs(float(longitude)) <= 180


_PATTERN_CACHE: dict[int, list[tuple[str, re.Pattern[str]]]] = {}


def _coordinate_patterns(decimals: int) -> list[tuple[str, re.Pattern[str]]]:
    cached = _PATTERN_CACHE.get(decimals)
    if cached is not None:
        return cached
    number = _NUMBER % decimals
    lat, lng = f"(?P<lat>{number})", f"(?P<lng>{number})"
    seconds = rf"\d{{1,2}}(?:[.,]\d+)?\s*(?:[{_DOUBLE_PRIMES}]|'')"
    dms = (
        rf"\d{{1,2}}\s*°\s*\d{{1,2}}\s*[{_PRIMES}]\s*{seconds}\s*[NSns][\s,;]*"
        rf"\d{{1,3}}\s*°\s*\d{{1,2}}\s*[{_PRIMES}]\s*{seconds}\s*[EWOewo]"
    )
    minutes = rf"\d{{1,2}}[.,]\d{{2,}}\s*[{_PRIMES}]"
    decimal_minutes = (
        rf"\d{{1,2}}\s*°\s*{minutes}\s*[NSns][\s,;]*\d{{1,3}}\s*°\s*{minutes}\s*[EWOewo]"
    )
    links = (
        rf"geo:\s*{lat}\s*,\s*{lng}",
        rf"[?&](?:q|ll|sll|query|center|daddr|saddr|destination|origin)=(?:loc:)?{lat}"
        rf"(?:,|%2C)\s*{lng}",
        rf"/@{lat},{lng}",
        rf"[?&]mlat={lat}&(?:amp;)?mlon={lng}",
        rf"#map=\d+/{lat}/{lng}",
    )
    decimal = (
        rf"(?<![\d.{_CURRENCY}]){lat}\s*°?\s*[NSns]?(?:\s*[,;]\s*|\s+){lng}\s*°?\s*[EWOewo]?"
        r"(?![\d.])",
        rf"(?i)\blat(?:itude)?\s*[:=]?\s*{lat}[\s,;]+(?:lng|lon|long|longitude)\s*[:=]?\s*{lng}",
    )
    patterns = [
        *(("map_link", re.compile(item, re.IGNORECASE)) for item in links),
        ("degrees_minutes_seconds", re.compile(dms)),
        ("degrees_minutes_seconds", re.compile(decimal_minutes)),
        *(("decimal_degrees", re.compile(item)) for item in decimal),
    ]
    _PATTERN_CACHE[decimals] = patterns
    return patterns


_ID_KEYWORDS = re.compile(
    r"(?i)(?<!\w)(?:id|dni|nie|nif|curp|rfc|c[ée]dula|cin|cni|nin|ssn|cpf|rg|huduma|passport"
    r"|pasaporte|passeport|passaporte|identity|identidad|identit[ée]|identidade|паспорт|инн"
    r"|снилс|الهوية|البطاقة|جواز)(?!\w)"
)
_ID_RUN = re.compile(r"(?<!\w)[A-Za-z]{0,3}[\s.\-/]?\d[\dA-Za-z\s.\-/]*\d[A-Za-z]?(?!\w)")


def id_numbers(text: str, min_digits: int) -> bool:
    """Return whether `text` holds an id-like number right after a word such as "ID" or "DNI"."""
    for keyword in _ID_KEYWORDS.finditer(text):
        after = text[keyword.end() : keyword.end() + 48]
        run = _ID_RUN.search(after)
        if run and run.start() <= 20 and sum(char.isdigit() for char in run.group()) >= min_digits:
            return True
    return False


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Streets: words written before the name ("Calle Ficticia 123", "9 rue de l'Exemple") and after
# it ("12 Example Lane"), in the platform languages.
_STREETS_BEFORE = _words(
    "calle c avenida avda av carrera cra paseo plaza camino callejón pasaje calzada diagonal"
    " transversal rue avenue boulevard bd chemin allée impasse place quai route cours rua travessa"
    " estrada praça alameda largo rodovia улица ул проспект пр-т переулок пер шоссе бульвар"
    " площадь пл \u0634\u0627\u0631\u0639 \u0637\u0631\u064a\u0642 \u0632\u0646\u0642\u0629"
    " \u0646\u0647\u062c \u062f\u0631\u0628 barabara mtaa"
)
_STREETS_AFTER = _words(
    "street st road rd avenue ave lane ln drive dr boulevard blvd way court ct place pl close"
    " crescent terrace highway hwy square sq"
)
_NUMBER_MARKS = _words("# № no nº n° núm num número numero д дом")
_STOP_WORDS = _words(
    "the a an on in at to of for from by with and or is are was were be been this that it my your"
    " his her our their down up across along near over every all some times minutes minute min"
    " mins hours hour hrs km kms miles mile m meters metres blocks block people years year days"
    " day percent streets es está en con por para y o que muy hay est et ou pour avec dans sur qui"
    " é em com e minutos heures horas veces fois vezes metros mètres días jours años ans anos"
    " personas gens pessoas pesos euros dollars dólares reais"
)
_HOUSE_NUMBER = re.compile(r"\d{1,5}(?:[a-d]|bis|ter)?|\d{1,5}-\d{1,5}")
_WORD = re.compile(rf"[#№]|[^\W_](?:[\w{_PRIMES}\-]*[^\W_])?\.?")
_LONGEST_NAME = 4  # words in a street's name between the street word and the number


def street_addresses(text: str) -> list[str]:
    """Return which street-address shapes `text` holds (house number and street word)."""
    words = [word.casefold().rstrip(".") for word in _WORD.findall(text.replace(".", ". "))]
    shapes = set()
    for at, word in enumerate(words):
        if word in _STREETS_AFTER and _number_then_name(words[max(0, at - 4) : at]):
            shapes.add("number_then_street")  # 12 Example Lane
        if word in _STREETS_BEFORE:
            if at and _is_number(words[at - 1]) and _is_name(words[at + 1 : at + 2]):
                shapes.add("number_then_street")  # 9 rue de l'Exemple
            if _name_then_number(words, at):
                shapes.add("street_then_number")  # Calle Ficticia 123, Calle 45 # 12-34
    return sorted(shapes)


def _is_number(word: str) -> bool:
    return _HOUSE_NUMBER.fullmatch(word) is not None


def _is_name(words: Sequence[str]) -> bool:
    return bool(words) and all(
        word not in _STOP_WORDS
        and word not in _NUMBER_MARKS
        and not _is_number(word)
        and any(char.isalpha() for char in word)
        for word in words
    )


def _number_then_name(before: Sequence[str]) -> bool:
    """Return whether the words before a street word are a house number and a name."""
    return any(
        _is_number(word) and 1 <= len(before) - start - 1 <= 3 and _is_name(before[start + 1 :])
        for start, word in enumerate(before)
    )


def _name_then_number(words: Sequence[str], at: int) -> bool:
    """Return whether the street word at `at` is followed by a name and a house number."""
    named = 0
    for offset, word in enumerate(words[at + 1 : at + 3 + _LONGEST_NAME], start=at + 1):
        if _is_number(word):
            follows = words[offset + 1] if offset + 1 < len(words) else ""
            if follows in _STOP_WORDS:  # "5 minutes", "3 veces": not a house number
                return False
            return named > 0 or follows in _NUMBER_MARKS
        if word in _NUMBER_MARKS:
            continue
        if named >= _LONGEST_NAME or not _is_name([word]):
            return False
        named += 1
    return False
