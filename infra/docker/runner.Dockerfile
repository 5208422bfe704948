# syntax=docker/dockerfile:1
# The RetainWise queue runner: `retainwise worker` (retainwise.platform.entrypoints.WORKER).
# Build from the repository root:  docker build -f infra/docker/runner.Dockerfile -t retainwise-runner .
# The base is pinned to the Python release the test suite runs on (both stages); pin its digest
# too when you publish (infra/README.md "Push images").

FROM python:3.11.7-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies from the lock file (pip-compile output, exact versions): an image built today and one
# built next month hold the same libraries. Its own layer, so a code change reuses it.
COPY infra/docker/requirements.lock ./
RUN pip install --no-deps -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY retainwise ./retainwise
COPY runner ./runner
COPY notebooks ./notebooks
COPY templates ./templates
# A regular (not editable) install: notebooks, templates and the model ship inside the package.
# The project itself, without resolving anything: every dependency came from the lock above.
RUN pip install --no-deps ".[postgres]" && pip check

FROM python:3.11.7-slim-bookworm
# libgomp1: XGBoost's OpenMP runtime, absent from slim images.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 retainwise \
 && useradd --system --uid 10001 --gid retainwise --home-dir /home/retainwise --create-home retainwise
COPY --from=build /opt/venv /opt/venv
COPY infra/docker/healthcheck.py /opt/retainwise/healthcheck.py
# HOME and /tmp are the only writable paths on ECS (read-only root file system, ecs.tf):
# Jupyter, IPython and Matplotlib write below HOME; the run store and heartbeat below RETAINWISE_HOME.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    JUPYTER_PLATFORM_DIRS=1 \
    HOME=/home/retainwise \
    MPLCONFIGDIR=/tmp/matplotlib \
    RETAINWISE_HOME=/home/retainwise/state
USER 10001:10001
WORKDIR /home/retainwise
# Fails when the worker has not touched $RETAINWISE_HOME/worker.heartbeat for 120 s.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "/opt/retainwise/healthcheck.py", "heartbeat"]
CMD ["retainwise", "worker"]
