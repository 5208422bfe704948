#!/usr/bin/env bash
# Installs checkov into its own virtualenv (.ci/.venv-checkov, gitignored) so its many pinned
# dependencies never meet the project's, then prints the checkov executable's path - and only
# that - on stdout. .ci/test.sh exports it as CHECKOV for tests/test_infra.py.
# Idempotent: a venv that already holds the pinned version is reused.
set -euo pipefail
cd "$(dirname "$0")"

CHECKOV_VERSION="3.3.30"
VENV="$PWD/.venv-checkov"
EXE="$VENV/bin/checkov"

installed_version() {
  "$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('checkov'))" 2>/dev/null || true
}

if [ ! -x "$EXE" ] || [ "$(installed_version)" != "$CHECKOV_VERSION" ]; then
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  if ! { python3 -m venv --clear "$VENV" \
         && "$VENV/bin/python" -m pip install -q --disable-pip-version-check "checkov==${CHECKOV_VERSION}"; } \
       >"$log" 2>&1; then
    echo "checkov.sh: installing checkov ${CHECKOV_VERSION} into $VENV failed:" >&2
    cat "$log" >&2
    exit 1
  fi
fi
echo "$EXE"
