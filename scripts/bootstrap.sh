#!/usr/bin/env bash
# Creates .venv on a Python >= 3.12 and installs the dev requirements, once per change of
# requirements. Chalice builds the Lambda bundle for the interpreter it runs on, and the
# numpy/onnxruntime wheels need the glibc of the python3.12+ Lambda runtimes, so 3.11 won't do.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.requirements.sha256"

find_python() {
  local candidates=()
  [ -n "${WHOKNOWS_PYTHON:-}" ] && candidates+=("$WHOKNOWS_PYTHON")
  candidates+=(python3.12 python3.13)
  if command -v pyenv >/dev/null 2>&1; then
    local root
    root=$(pyenv root)
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[23]\.[0-9]+$' | sort -V); do
      candidates+=("$root/versions/$v/bin/python")
    done
  fi
  candidates+=(python3)
  for c in "${candidates[@]}"; do
    if command -v "$c" >/dev/null 2>&1 &&
      "$c" -c 'import sys, venv; sys.exit(0 if (3, 12) <= sys.version_info[:2] <= (3, 13) else 1)' 2>/dev/null; then
      command -v "$c"
      return 0
    fi
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  if ! PY=$(find_python); then
    echo "whoknows needs Python 3.12 or 3.13 (the Lambda runtimes it packages for)." >&2
    echo "None was found on PATH or in pyenv. Install one (e.g. 'pyenv install 3.12')," >&2
    echo "or point WHOKNOWS_PYTHON at its interpreter, then run this again." >&2
    exit 1
  fi
  echo "Creating $VENV with $PY ($("$PY" --version))" >&2
  "$PY" -m venv "$VENV"
fi

want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "Installing dependencies into $VENV (first run takes a minute or two)..." >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt 2>&1 |
    grep -v "is neither a file nor a directory" >&2 || true
  "$VENV/bin/python" -c 'import chalice, onnxruntime, skl2onnx, sklearn, slack_sdk, boto3, moto, pytest' || {
    echo "Dependency installation failed; see the pip output above." >&2
    exit 1
  }
  echo "$want" >"$STAMP"
fi
