#!/usr/bin/env bash
# Installs what the test suite needs, exactly as the lock files pin it, into the project's own
# virtualenv (.venv, made here when missing): Debian's chromium (Playwright talks to /usr/bin/chromium;
# no browser download) and PostgreSQL from apt, then every Python package from
# infra/docker/requirements-dev.lock with --no-deps, so nothing is resolved on the day and a fresh
# machine tests the versions the images ship. Whatever the calling interpreter already has (a system
# Python with older or newer packages, or an activated virtualenv) cannot leak in: .venv is made
# without system site-packages. Upgrading is a deliberate step: `bash .ci/lock.sh --upgrade`.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
[ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

VENV="${RETAINWISE_VENV:-.venv}"
# The base interpreter, not an activated virtualenv's: a venv made from a venv is still a clean venv,
# but naming the base keeps the two cases (system Python, someone's virtualenv) one and the same.
BASE="$(python3 -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')"
[ -x "$VENV/bin/python" ] || "$BASE" -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install -q --disable-pip-version-check --no-deps -r infra/docker/requirements-dev.lock
"$PY" -m pip install -q --disable-pip-version-check --no-deps -e .
"$PY" -m pip check
# CI's first word: what is installed, against the lock (exit 1 on any difference).
"$PY" .ci/installed.py
