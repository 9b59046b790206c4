#!/usr/bin/env bash
# Installs the Python app of the GenAI end-to-end test (test/e2e/genai) into
# a virtual environment under .cache, one per version of its requirements,
# and prints the path of its python. Idempotent: a complete environment is
# reused. The argument names the requirements file in test/e2e/genai
# (default requirements.txt).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
req="$root/test/e2e/genai/${1:-requirements.txt}"
sum="$(sha256sum "$req" | cut -c1-12)"
venv="$root/.cache/genai-e2e/venv-$sum"
if [[ ! -f "$venv/.complete" ]]; then
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  touch "$venv/.complete"
fi
echo "$venv/bin/python"
