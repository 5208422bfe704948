"""Container health checks for the RetainWise images (stdlib only: the images have no curl).

    python healthcheck.py heartbeat [MAX_AGE_S]   runner: $RETAINWISE_HOME/worker.heartbeat is fresh
    python healthcheck.py http [URL]              reports: the report server's /healthz answers 200

Exit 0 when healthy, 1 when not, with one line on stderr saying why (Docker and ECS keep it
in the health log). The Dockerfiles' HEALTHCHECK and the ECS task definitions run this file.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.request

#: The worker touches its heartbeat at least every 30 s; four missed beats mean it is stuck.
HEARTBEAT_MAX_AGE_S = 120.0
HEARTBEAT_FILE = "worker.heartbeat"
#: The report server's health page: no token, no kernel (``/`` refuses a request without a token by design).
REPORTS_URL = "http://127.0.0.1:8866/healthz"
#: The report server's port setting (``retainwise.settings``): the check follows the server when it moves.
PORT_VARIABLE = "RETAINWISE_REPORT_PORT"


def check_heartbeat(
    home: str, max_age_s: float = HEARTBEAT_MAX_AGE_S, now: float | None = None
) -> str | None:
    """Return None if ``home``/worker.heartbeat changed within ``max_age_s``, else the reason."""
    path = os.path.join(home, HEARTBEAT_FILE)
    try:
        age = (time.time() if now is None else now) - os.path.getmtime(path)
    except OSError as exc:
        return f"no heartbeat at {path}: {exc.strerror or exc}"
    if age > max_age_s:
        return f"heartbeat {path} is {age:.0f} s old (limit {max_age_s:.0f} s)"
    return None


def reports_url(environ=os.environ) -> str:
    """:data:`REPORTS_URL` on the port the server was given (``RETAINWISE_REPORT_PORT``), if any."""
    port = (environ.get(PORT_VARIABLE) or "").strip()
    return REPORTS_URL.replace(":8866/", f":{int(port)}/") if port.isdigit() else REPORTS_URL


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer to judge, not one to follow (a login page is not health)


def check_http(url: str = REPORTS_URL, timeout_s: float = 4.0) -> str | None:
    """Return None if ``url`` answers 200, else the reason."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=timeout_s) as resp:  # fixed local URL
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        return f"{url} unreachable: {getattr(exc, 'reason', exc)}"
    return None if status == 200 else f"{url} answered HTTP {status}"


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else ""
    if mode == "heartbeat":
        max_age = float(argv[2]) if len(argv) > 2 else HEARTBEAT_MAX_AGE_S
        problem = check_heartbeat(os.environ.get("RETAINWISE_HOME") or ".retainwise", max_age)
    elif mode == "http":
        problem = check_http(argv[2] if len(argv) > 2 else reports_url())
    else:
        print("usage: healthcheck.py heartbeat [MAX_AGE_S] | http [URL]", file=sys.stderr)
        return 2
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
