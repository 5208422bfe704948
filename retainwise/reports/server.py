"""The report server: Voila serving ``notebooks/report.ipynb``, configured safely.

``python -m retainwise.reports.server [--port 8866] [--ip 127.0.0.1]`` (the
command of ``retainwise.platform.entrypoints.REPORTS``, used by ``retainwise up``, the
tests and the container). Safety decisions:

- single-notebook mode: only the report notebook can be rendered, no tree;
- the template (ours, ``templates/voila/templates/retainwise``) and theme
  cannot be overridden from the URL; sources are stripped; tracebacks hidden;
- no files are served (``file_denylist`` matches everything): the page embeds its charts,
  and results.csv is downloaded from a short-lived presigned S3 URL;
- idle kernels are culled after 10 minutes, checked every minute;
- preheated kernels (Voila's pool, two kernels) take the kernel start and
  the imports off the request: a 10,000-row report renders in about 1.5x the
  time of a trivial notebook instead of 2.5x (bench/bench_report.py). It is
  safe because the notebook runs nothing but imports before
  ``wait_for_request()``: the token is read from the request and verified
  after that, before any data loads, so a preheated kernel holds no tenant's
  data. ``--no-preheat`` turns it off.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys

from retainwise.execution.execute import notebook_path
from retainwise.execution.static_report import templates_dir
from retainwise.platform.entrypoints import REPORTS_PORT

CULL_IDLE_S = 600


@functools.cache
def _kernel_manager_class():
    from jupyter_server.services.kernels.kernelmanager import ServerKernelManager
    from traitlets import default

    class IPCKernelManager(ServerKernelManager):
        """A Voila kernel on IPC sockets of its own.

        A unique socket prefix per kernel: jupyter_client picks IPC "ports" by probing which socket files
        exist, so kernels started at the same moment (the preheated pool, two visitors) could otherwise
        collide on one prefix.
        """

        @default("transport")
        def _default_transport(self):
            return "ipc"

        @default("ip")
        def _default_ip(self):
            import tempfile
            import uuid

            sockets = os.path.join(tempfile.gettempdir(), "retainwise-voila")
            os.makedirs(sockets, mode=0o700, exist_ok=True)
            return os.path.join(sockets, uuid.uuid4().hex[:16])

    return IPCKernelManager


def __getattr__(name: str):
    # Voila imports the class by name; built lazily so importing this module stays light.
    if name == "IPCKernelManager":
        return _kernel_manager_class()
    raise AttributeError(name)


def voila_argv(port: int = REPORTS_PORT, ip: str = "127.0.0.1", preheat: bool = True) -> list[str]:
    """Voila's command-line arguments for the safe configuration above."""
    return [
        str(notebook_path("report.ipynb")),
        f"--port={port}",
        f"--Voila.ip={ip}",
        "--no-browser",
        "--template=retainwise",
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.allow_theme_override=NO",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.file_denylist=.*",  # no files at all, whatever the allowlist says
        f"--VoilaConfiguration.preheat_kernel={preheat}",
        "--VoilaConfiguration.default_pool_size=2",
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_S}",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=True",
        # Kernels on IPC sockets: nothing listens on TCP, and ipykernel has no unencrypted-TCP warning to print.
        "--MappingKernelManager.kernel_manager_class=retainwise.reports.server.IPCKernelManager",
        "--ServerApp.tornado_settings={'headers': {'X-Frame-Options': 'DENY', "
        "'Referrer-Policy': 'no-referrer', 'X-Content-Type-Options': 'nosniff'}}",
    ]


def environment() -> None:
    """Make our Voila template findable and keep kernels quiet."""
    paths = [str(templates_dir())]
    if os.environ.get("JUPYTER_PATH"):
        paths.append(os.environ["JUPYTER_PATH"])
    os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retainwise.reports.server", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("RETAINWISE_REPORTS_PORT", REPORTS_PORT)))
    parser.add_argument("--ip", default=os.environ.get("RETAINWISE_REPORTS_IP", "127.0.0.1"),
                        help="address to bind (0.0.0.0 in a container behind the load balancer)")
    parser.add_argument("--no-preheat", action="store_true", help="start a kernel per request instead")
    args = parser.parse_args(argv)
    environment()
    from voila.app import Voila

    Voila.launch_instance(argv=voila_argv(args.port, args.ip, not args.no_preheat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
