#!/usr/bin/env bash
# Re-extract the interface messages into messages.pot and merge them into every catalog.
#
# Translators then edit src/hrdshield/web/locales/<lang>/LC_MESSAGES/messages.po; no .mo files
# are built or committed (hrdshield.web.i18n compiles the .po files in memory).
# Usage: scripts/i18n.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
LOCALES=src/hrdshield/web/locales
POT="$LOCALES/messages.pot"
LANGUAGES=(es fr ar ru pt)

"$BIN/pybabel" --quiet extract \
  -F babel.cfg \
  -o "$POT" \
  --project="HRD Shield" \
  --version="$("$BIN/python" -c 'from importlib.metadata import version; print(version("hrdshield"))')" \
  --copyright-holder="HRD Shield contributors" \
  --add-comments="Translators:" \
  --sort-by-file \
  --width=100 \
  .

for language in "${LANGUAGES[@]}"; do
  "$BIN/pybabel" --quiet update \
    -i "$POT" \
    -d "$LOCALES" \
    -l "$language" \
    --init-missing \
    --ignore-obsolete \
    --previous \
    --ignore-pot-creation-date \
    --width=100
done

# Untranslated means an empty translation or one marked fuzzy (gettext ignores both).
"$BIN/python" - "$LOCALES" "${LANGUAGES[@]}" <<'PYTHON'
import sys
from pathlib import Path

from babel.messages.pofile import read_po

locales, languages = Path(sys.argv[1]), sys.argv[2:]
for language in languages:
    with (locales / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    messages = [message for message in catalog if message.id]
    untranslated = [
        message
        for message in messages
        if message.fuzzy
        or not (all(message.string) if isinstance(message.string, tuple) else message.string)
    ]
    print(f"{language}: {len(untranslated)} of {len(messages)} messages untranslated")
PYTHON
