#!/usr/bin/env bash
# Re-compiles the two lock files from pyproject.toml (pip-tools; Python 3.11, as the images):
#   infra/docker/requirements.lock      what the images install (the package and its postgres extra)
#   infra/docker/requirements-dev.lock  that, plus the dev extra: what .ci/install.sh installs
# The dev lock is compiled under the runtime lock as a constraint, so every package the two share has
# the same pin. `bash .ci/lock.sh` only adds what pyproject.toml newly asks for; `--upgrade` takes the
# newest releases. Either way: run `bash .ci/run`, then commit both locks.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${TMPDIR:-/tmp}/retainwise-pip-tools"
[ -x "$TOOLS/bin/pip-compile" ] || { python3 -m venv "$TOOLS" && "$TOOLS/bin/pip" install -q pip-tools; }
common=(--no-emit-find-links --no-emit-index-url --strip-extras "$@")
"$TOOLS/bin/pip-compile" -q --extra=postgres "${common[@]}" \
  --output-file=infra/docker/requirements.lock pyproject.toml
"$TOOLS/bin/pip-compile" -q --extra=dev --extra=postgres -c infra/docker/requirements.lock "${common[@]}" \
  --output-file=infra/docker/requirements-dev.lock pyproject.toml
