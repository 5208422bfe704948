#!/usr/bin/env bash
# The whole test suite, in the virtualenv .ci/install.sh made: unit tests, notebooks under nbval, the
# moto server, PostgreSQL and Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="$(cd "${RETAINWISE_VENV:-.venv}" && pwd)"
export VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH"
unset PYTHONHOME
if [ -f .ci/postgres.sh ] && [ -z "${RETAINWISE_TEST_POSTGRES_URL:-}" ]; then
  RETAINWISE_TEST_POSTGRES_URL="$(bash .ci/postgres.sh)"
  export RETAINWISE_TEST_POSTGRES_URL
fi
if [ -f .ci/checkov.sh ] && [ -z "${CHECKOV:-}" ]; then
  CHECKOV="$(bash .ci/checkov.sh)"
  export CHECKOV
fi
export JUPYTER_PLATFORM_DIRS=1
# The conventions, notebooks included: formatted as ruff formats, and ruff's checks clean.
ruff format --check --quiet .
ruff check --quiet .
# With no arguments (the whole suite): mark the session's start, so the docs build below can tell this
# session's screenshots from a previous one's (docs/hooks/screenshots.py).
if [ $# -eq 0 ]; then
  mkdir -p test-artifacts && touch test-artifacts/.session-started
fi
python -m pytest "$@"
# The documentation site, strict: a broken link, a missing page or a screenshot the browser tests of
# this session did not take fails CI. Only after the whole suite, which is what takes every screenshot.
if [ $# -eq 0 ]; then
  # Not --quiet: it silences warnings before --strict can count them, and the build would pass regardless.
  NO_MKDOCS_2_WARNING=1 mkdocs build --strict
fi
