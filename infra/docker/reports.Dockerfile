# syntax=docker/dockerfile:1
# The RetainWise report server: Voila via `python -m retainwise.reports.server`
# (retainwise.platform.entrypoints.REPORTS), listening on 8866 (REPORTS_PORT).
# Build from the repository root:  docker build -f infra/docker/reports.Dockerfile -t retainwise-reports .
# Base pinned to the Python release the test suite runs on (both stages).

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
# The project itself, without resolving anything: every dependency came from the lock above.
RUN pip install --no-deps ".[postgres]" && pip check

FROM python:3.11.7-slim-bookworm
# libgomp1: XGBoost's OpenMP runtime (the report kernels load the model for what-if widgets).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 retainwise \
 && useradd --system --uid 10001 --gid retainwise --home-dir /home/retainwise --create-home retainwise
COPY --from=build /opt/venv /opt/venv
COPY infra/docker/healthcheck.py /opt/retainwise/healthcheck.py
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    JUPYTER_PLATFORM_DIRS=1 \
    HOME=/home/retainwise \
    MPLCONFIGDIR=/tmp/matplotlib \
    RETAINWISE_HOME=/home/retainwise/state \
    RETAINWISE_REPORT_IP=0.0.0.0
USER 10001:10001
WORKDIR /home/retainwise
# The report server binds 127.0.0.1 unless told otherwise; in the container it must accept the
# load balancer's connections (the security group admits only those).
EXPOSE 8866
# The report server's /healthz answers 200 once it can serve (no token, no kernel; `/` refuses without a token).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "/opt/retainwise/healthcheck.py", "http"]
CMD ["python", "-m", "retainwise.reports.server"]
