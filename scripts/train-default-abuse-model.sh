#!/usr/bin/env bash
# Rebuild the abuse model that ships inside the package (docs/abuse-model.md).
#
# Only rows whose licence allows redistribution inside the product train it: the MIT-licensed
# French MLMA rows of the shared data file, plus the project's own synthetic examples.
# Usage: scripts/train-default-abuse-model.sh [path/to/train.jsonl]
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/data/abuse/train.jsonl}"
.venv/bin/hrdshield model train --data "$data" --license MIT --with-synthetic \
  --name default --bits 18 --force --out src/hrdshield/detection/text/models/default
