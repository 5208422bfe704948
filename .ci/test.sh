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
python -m pytest "$@"
