"""The report server: Voila serving exactly the notebooks of ``gate.GATES``, configured safely.

``python -m retainwise.reports.server [--port 8866] [--ip 127.0.0.1]`` (the
command of ``retainwise.platform.entrypoints.REPORTS``, used by ``retainwise up``, the
tests and the container). Safety decisions:

- only ``/`` (the report), ``/portal`` (the portal, when its notebook exists) and
  ``/portal/upload`` (the portal's streaming upload, behind a portal token) are
  served, no tree; every other path is a 404;
- each request's token is checked in the server process *before* a kernel is
  taken or started (``gate.admit``); a stranger gets the refusal page (403) and
  costs nothing;
- the template (ours, ``templates/voila/templates/retainwise``) and theme
  cannot be overridden from the URL (``?template=`` and ``?theme=`` are ignored,
  so they cannot make Voila bypass the preheated pool and cold-start a kernel);
  sources are stripped; tracebacks hidden;
- the page's ``_xsrf`` cookie is set, so the browser's shutdown request on
  leaving the page is accepted and frees the visitor's kernel at once;
- ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer`` and ``nosniff`` on
  every response (page, refusal, static assets), by a tornado output transform:
  standalone Voila never reads ``ServerApp.tornado_settings``;
- no files are served (``file_denylist`` matches everything): the page embeds its charts,
  and results.csv is downloaded from a short-lived presigned S3 URL;
- idle kernels are culled after 10 minutes, checked every minute;
- preheated kernels (Voila's pool, two kernels) take the kernel start and
  the imports (and the run store and S3 connections) off the request: a
  10,000-row report renders in about 1.2x the time of a trivial notebook
  (bench/bench_report.py). It is
  safe because the notebook runs nothing but imports before
  ``wait_for_request()``: the token is read from the request and verified
  after that, before any data loads, so a preheated kernel holds no tenant's
  data. ``--no-preheat`` turns it off.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
from pathlib import Path

from retainwise.platform.entrypoints import REPORTS_PORT
from retainwise.resources import notebook as notebook_path
from retainwise.resources import templates_dir

CULL_IDLE_S = 600
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
#: Preheated kernels per notebook: the report is opened from mails, the portal less often.
POOL_SIZES = {"report.ipynb": 2, "portal.ipynb": 1}


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
            from retainwise.execution.kernels import ipc_socket_prefix

            return ipc_socket_prefix("voila")

    return IPCKernelManager


@functools.cache
def _security_headers_class():
    import tornado.web

    class SecurityHeaders(tornado.web.OutputTransform):
        """Adds :data:`SECURITY_HEADERS` to every response, whatever handler wrote it."""

        def transform_first_chunk(self, status_code, headers, chunk, finishing):
            for name, value in SECURITY_HEADERS.items():
                headers[name] = value
            return status_code, headers, chunk

    return SecurityHeaders


@functools.cache
def _gated_handler_class():
    from voila.tornado.handler import TornadoVoilaHandler

    from retainwise.reports.gate import admit
    from retainwise.settings import Settings

    class GatedVoilaHandler(TornadoVoilaHandler):
        """Voila's notebook handler behind :func:`retainwise.reports.gate.admit`."""

        def initialize(self, gate, **kwargs):
            self.gate = gate
            super().initialize(**kwargs)

        def get_argument(self, name, default=None, strip=True):
            if name in ("template", "theme"):  # fixed by the server: a URL choosing them would skip the pool
                return default
            return super().get_argument(name, default, strip)

        async def get(self, path=None):
            refusal = await asyncio.to_thread(admit, self.gate, Settings.from_env(), self.request.query)
            if refusal is not None:
                self.set_status(403)
                self.set_header("Content-Type", "text/html; charset=utf-8")
                self.set_header("Cache-Control", "no-store")
                self.finish(refusal)
                return
            _ = self.xsrf_token  # sets the _xsrf cookie the page's shutdown-on-leave request must carry
            await super().get(path)

    return GatedVoilaHandler


@functools.cache
def _app_class():
    from voila.app import Voila

    from retainwise.reports.gate import GATES

    class ReportServer(Voila):
        """Voila with our routes (one per gate) and security headers on every response."""

        def init_settings(self):
            settings = super().init_settings()
            # Application(**settings) passes this to its `transforms` parameter (tornado's default is none).
            settings["transforms"] = [_security_headers_class()]
            pools = self.kernel_manager.kernel_pools_config
            for gate in GATES.values():
                pools[gate.notebook] = {
                    **pools.get("default", {}),
                    "pool_size": POOL_SIZES.get(gate.notebook, 1),
                }
            if self.voila_configuration.preheat_kernel:
                for gate in self._served():
                    if gate.notebook != os.path.basename(self.notebook_path):
                        self.kernel_manager.fill_if_needed(delay=0, notebook_name=gate.notebook)
            return settings

        def _served(self):
            return [g for g in GATES.values() if os.path.exists(os.path.join(self.root_dir, g.notebook))]

        def init_handlers(self):
            from jupyter_server.utils import url_path_join

            from retainwise.reports import portal_upload

            catch_all = url_path_join(self.server_url, r"/(.*)")
            handlers = [h for h in super().init_handlers() if h[0] != catch_all]
            for route, gate in GATES.items():
                if gate not in self._served():
                    continue
                handlers.append(
                    (
                        url_path_join(self.server_url, f"/{route}") + ("/?" if route else ""),
                        _gated_handler_class(),
                        {
                            "gate": gate,
                            "notebook_path": gate.notebook,
                            "template_paths": self.template_paths,
                            "config": self.config,
                            "voila_configuration": self.voila_configuration,
                        },
                    )
                )
            return handlers + portal_upload.handlers(self.server_url)  # token checked, streamed to S3

    return ReportServer


def __getattr__(name: str):
    # Voila imports the class by name; built lazily so importing this module stays light.
    if name == "IPCKernelManager":
        return _kernel_manager_class()
    raise AttributeError(name)


def voila_argv(
    port: int = REPORTS_PORT, ip: str = "127.0.0.1", preheat: bool = True, notebooks: str | None = None
) -> list[str]:
    """Voila's command-line arguments for the safe configuration above (``notebooks``: another folder
    holding report.ipynb and portal.ipynb, e.g. a data scientist's edited copy)."""
    report = Path(notebooks) / "report.ipynb" if notebooks else notebook_path("report.ipynb")
    return [
        str(report),
        f"--Voila.root_dir={report.parent}",
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
    parser = argparse.ArgumentParser(
        prog="python -m retainwise.reports.server", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("RETAINWISE_REPORTS_PORT", REPORTS_PORT))
    )
    parser.add_argument(
        "--ip",
        default=os.environ.get("RETAINWISE_REPORTS_IP", "127.0.0.1"),
        help="address to bind (0.0.0.0 in a container behind the load balancer)",
    )
    parser.add_argument("--no-preheat", action="store_true", help="start a kernel per request instead")
    parser.add_argument("--notebooks", help="serve report.ipynb (and portal.ipynb) from this folder instead")
    args = parser.parse_args(argv)
    environment()
    _app_class().launch_instance(argv=voila_argv(args.port, args.ip, not args.no_preheat, args.notebooks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
