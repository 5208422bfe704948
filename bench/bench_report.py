"""Time to first full render of a customer report (10,000-row run) versus a trivial Voila notebook.

Both are served by Voila processes started in this script and loaded in the same headless Chromium
(Debian's /usr/bin/chromium through Playwright). "Full render" for the report: every section is on the
page (headline, segments, the customer browser's first page, the top customer's detail chart and
what-if controls, down to the last section); for the reference: its one output is.
The reference notebook prints one line; it is served with Voila's defaults. Median of --repeat loads
each, a fresh browser context (no cache) per load. Target: report <= 2x the reference.

Usage: python bench/bench_report.py [--rows 10000] [--repeat 5] [--gap 15] [--no-preheat]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _stack import make_upload  # noqa: E402

from retainwise.execution.execute import run_pipeline  # noqa: E402
from retainwise.platform.embedded import MotoServer, free_port, provision  # noqa: E402
from retainwise.platform.links import report_url  # noqa: E402
from retainwise.platform.runs import RunStore  # noqa: E402
from retainwise.platform.storage import Storage  # noqa: E402
from retainwise.platform.tenants import results_prefix  # noqa: E402
from retainwise.reports.server import environment  # noqa: E402
from retainwise.settings import Settings  # noqa: E402


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def trivial_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "from IPython.display import HTML\nHTML('<div id=\"done\">hello</div>')"
            )
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def load_times(browser, url: str, selectors: list[str], repeat: int, gap: float) -> list[float]:
    times = []
    for _ in range(repeat):
        context = browser.new_context(viewport={"width": 1280, "height": 1600})
        page = context.new_page()
        start = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=120_000)
        for sel in selectors:
            page.wait_for_selector(sel, timeout=120_000)
        times.append(time.perf_counter() - start)
        context.close()
        time.sleep(
            gap
        )  # visitors arrive apart: the closed page's kernel shuts down, a preheated one replaces it
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--no-preheat", action="store_true", help="serve the report without a preheated kernel"
    )
    parser.add_argument(
        "--gap",
        type=float,
        default=15,
        help="seconds between visitors: a used preheated kernel is replaced in the background, "
        "which takes its start plus the imports (about 15 s on a busy 2-core machine)",
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, MotoServer() as moto:
        tmp = Path(tmp)
        base = Settings(home=tmp / "home", aws_endpoint_url=moto.url, secret="bench-secret")
        res = provision(base)
        report_port, trivial_port = free_port(), free_port()
        settings = base.replace(
            bucket=res.bucket, queue_url=res.queue_url, report_base_url=f"http://127.0.0.1:{report_port}"
        )
        store, storage = RunStore.from_settings(settings), Storage(settings)
        upload = make_upload(args.rows, tmp / "upload.csv")
        storage.put_file(upload, "uploads/bench/0123456789ab-upload.csv")  # segments and what-if read it
        run = store.create(tenant="bench", upload_key="uploads/bench/0123456789ab-upload.csv")
        store.claim(run.id, lease_s=600)
        outcome = run_pipeline(upload, tmp / "out", tenant="bench", run_id=run.id)
        store.complete(
            run.id,
            summary=outcome.summary,
            output_keys=storage.put_outputs(tmp / "out", results_prefix("bench", run.id)),
        )

        env = dict(os.environ)
        env.update(settings.to_env())
        environment()
        env["JUPYTER_PATH"] = os.environ["JUPYTER_PATH"]
        report_cmd = [sys.executable, "-m", "retainwise.reports.server", "--port", str(report_port)]
        if args.no_preheat:
            report_cmd.append("--no-preheat")
        trivial = trivial_notebook(tmp / "trivial.ipynb")
        trivial_cmd = [
            sys.executable,
            "-m",
            "voila",
            str(trivial),
            f"--port={trivial_port}",
            "--no-browser",
            "--Voila.ip=127.0.0.1",
        ]
        procs = [
            subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for cmd in (report_cmd, trivial_cmd)
        ]
        try:
            wait_port(report_port)
            wait_port(trivial_port)
            time.sleep(2 * args.gap)  # the preheated kernels start and import
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    headless=True,
                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
                )
                url = report_url(settings, "bench", run.id)
                load_times(
                    browser, url, ["#rw-rows"], 1, args.gap
                )  # warm-up: first-load costs of both servers
                load_times(browser, f"http://127.0.0.1:{trivial_port}/", ["#done"], 1, args.gap)
                ours = load_times(
                    browser,
                    url,
                    [
                        "#rw-rows",
                        "#rw-segments img",
                        ".rw-row",
                        ".rw-drill img",
                        ".rw-whatif-contract select",
                        "#rw-earlier",
                    ],
                    args.repeat,
                    args.gap,
                )
                ref = load_times(
                    browser, f"http://127.0.0.1:{trivial_port}/", ["#done"], args.repeat, args.gap
                )
                browser.close()
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(20)
    o, r = statistics.median(ours), statistics.median(ref)
    print(
        f"report of a {args.rows:,}-row run{'' if args.no_preheat else ' (preheated kernel)'}: "
        f"median {o:.2f} s ({', '.join(f'{x:.2f}' for x in ours)})"
    )
    print(f"trivial notebook in Voila: median {r:.2f} s ({', '.join(f'{x:.2f}' for x in ref)})")
    print(f"ratio = {o / r:.2f} (target <= 2): {'OK' if o / r <= 2 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
