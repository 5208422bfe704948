"""The report server: Voila serving exactly the notebooks of ``gate.GATES``, configured safely.

``python -m retainwise.reports.server [--port 8866] [--ip 127.0.0.1]`` (the
command of ``retainwise.platform.entrypoints.REPORTS``, used by ``retainwise up``, the
tests and the container). Safety decisions:

- only ``/`` (the report), ``/portal`` (the portal, when its notebook exists),
  ``/portal/upload`` (the portal's streaming upload, behind a portal token), ``/open`` (a portal's report
  link, :mod:`retainwise.reports.opener`) and
  ``/healthz`` (no token, no kernel: what the load balancer and the container check call)
  are served, no tree; every other path is a 404;
- kernels cannot read the link secret: the server is non-dumpable, its kernels start confined and without
  ``RETAINWISE_SECRET``/``RETAINWISE_PREVIOUS_SECRETS``, and get the verified grant instead of verifying a
  token (:mod:`retainwise.reports.handover`);
- a link's token is swapped for a Secure, HttpOnly, SameSite=Lax cookie and the browser
  redirected to the URL without it; kernel APIs and websockets need the page's cookie; logs
  never hold a token, nor a kernel id above DEBUG (``front_door``, ``logscrub``);
- each request's token is checked in the server process *before* a kernel is
  taken or started (``gate.admit``); a stranger gets the refusal page (403) and
  costs nothing;
- the template (ours, ``templates/voila/templates/retainwise``) and theme
  cannot be overridden from the URL (``?template=`` and ``?theme=`` are ignored,
  so they cannot make Voila bypass the preheated pool and cold-start a kernel);
  sources are stripped; tracebacks hidden;
- the page's ``_xsrf`` cookie is set, so the browser's shutdown request on
  leaving the page is accepted and frees the visitor's kernel at once;
- ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer``, ``nosniff`` and HSTS on
  every response (page, refusal, static assets), by a tornado output transform:
  standalone Voila never reads ``ServerApp.tornado_settings``;
- no files are served (``file_denylist`` matches everything): the page embeds its charts,
  and results.csv is downloaded from a short-lived presigned S3 URL;
- idle kernels are culled after 10 minutes, checked every minute;
- report kernels are capped (overall and per link), a closed page's kernel is freed once its websocket
  has been closed for ``RETAINWISE_REPORT_KERNEL_GONE`` seconds, the preheated pool grows with demand,
  and report kernels start without credentials: :mod:`retainwise.reports.kernels`;
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
from retainwise.reports import logscrub, metrics, page_assets, template_cache
from retainwise.resources import notebook as notebook_path
from retainwise.resources import templates_dir

CULL_IDLE_S = 600
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # Browsers ignore it over plain http (``retainwise up``); behind the load balancer it pins https for a year.
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
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

        def format_kernel_cmd(self, extra_arguments=None):
            """The kernel started confined (no capabilities, ``no_new_privs``): with the server non-dumpable,
            it cannot read the server's ``/proc/<pid>/environ`` (issue 25, ``execution.confinement``)."""
            from retainwise.execution.confinement import confined_argv

            return confined_argv(super().format_kernel_cmd(extra_arguments))

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            # The one place every kernel start passes (pool, cold start, restart): no link secret in it.
            from retainwise.reports.handover import kernel_env

            kw["env"] = kernel_env(kw.get("env") or os.environ)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

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

    from retainwise.reports import kernels
    from retainwise.reports.front_door import PageDoor
    from retainwise.reports.gate import admit
    from retainwise.settings import Settings

    class GatedVoilaHandler(PageDoor, TornadoVoilaHandler):
        """Voila's notebook handler behind :func:`retainwise.reports.gate.admit` (token from the cookie)."""

        def initialize(self, gate, **kwargs):
            self.gate = gate
            super().initialize(**kwargs)

        def get_argument(self, name, default=None, strip=True):
            if name in ("template", "theme"):  # fixed by the server: a URL choosing them would skip the pool
                return default
            return super().get_argument(name, default, strip)

        async def get(self, path=None):
            settings = Settings.from_env()
            if self.carries_token():  # a link: its token becomes a cookie, the browser a token-free URL
                return await self.exchange(settings)
            query = self.query_from_cookie()
            refusal = await asyncio.to_thread(admit, self.gate, settings, query)
            if refusal is not None:
                return self.refuse(refusal)
            await self.bind_page(settings, query)
            if not await kernels.admit_page(self, settings):  # past a cap: the static report, no kernel
                return
            _ = self.xsrf_token  # sets the _xsrf cookie the page's shutdown-on-leave request must carry
            try:
                await super().get(path)
            finally:
                kernels.page_sent(self)

    return GatedVoilaHandler


@functools.cache
def _app_class():
    from voila.app import Voila

    from retainwise.reports.gate import GATES

    class ReportServer(Voila):
        """Voila with our routes (one per gate) and security headers on every response."""

        def init_settings(self):
            template_cache.install()  # Voila's per-page template compile and static-path walks, once
            self.voila_configuration.page_config_hook = page_assets.page_config_hook
            settings = _with_report_kernels(super().init_settings)
            # Application(**settings) passes this to its `transforms` parameter (tornado's default is none).
            settings["transforms"] = [_security_headers_class()]
            logscrub.install(self.log)  # no token, and no kernel id above DEBUG, in any log line
            metrics.install(self, settings)  # pages, refusals, kernels, render times (reports/metrics.py)
            if self.voila_configuration.preheat_kernel:  # without it there is no pool to size
                pools = self.kernel_manager.kernel_pools_config
                for gate in GATES.values():
                    pools[gate.notebook] = {
                        **pools.get("default", {}),
                        "pool_size": POOL_SIZES.get(gate.notebook, 1),
                    }
                for gate in self._served():
                    if gate.notebook != os.path.basename(self.notebook_path):
                        self.kernel_manager.fill_if_needed(delay=0, notebook_name=gate.notebook)
            return settings

        def _served(self):
            return [g for g in GATES.values() if os.path.exists(os.path.join(self.root_dir, g.notebook))]

        def init_handlers(self):
            from jupyter_server.utils import url_path_join

            from retainwise.reports import guards, opener, portal_upload

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
            # the upload: token checked, streamed to S3; every kernel API behind its page's grant (guards)
            # /open: the portal's report links, minted here (kernels hold no secret: reports.opener)
            extra = portal_upload.handlers(self.server_url) + opener.handlers(self.server_url)
            return guards.guarded(handlers + extra, self.server_url)

    return ReportServer


def _with_report_kernels(init_settings):
    """``init_settings()`` with Voila building its kernel manager as ours (retainwise.reports.kernels): the
    factory is swapped for that one call, so even the pool Voila fills while constructing it is ours."""
    import voila.app

    from retainwise.reports.kernels import REPORT, report_kernel_manager

    factory = voila.app.voila_kernel_manager_factory
    voila.app.voila_kernel_manager_factory = lambda *a, **k: report_kernel_manager(
        factory(*a, **k), POOL_SIZES[REPORT]
    )
    try:
        return init_settings()
    finally:
        voila.app.voila_kernel_manager_factory = factory


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


def build_parser(settings) -> argparse.ArgumentParser:
    """The server's options; port and address default to the settings (RETAINWISE_REPORT_PORT, _IP)."""
    parser = argparse.ArgumentParser(
        prog="python -m retainwise.reports.server", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--port", type=int, default=settings.report_port)
    parser.add_argument(
        "--ip",
        default=settings.report_ip,
        help="address to bind (0.0.0.0 in a container behind the load balancer)",
    )
    parser.add_argument("--no-preheat", action="store_true", help="start a kernel per request instead")
    parser.add_argument("--notebooks", help="serve report.ipynb (and portal.ipynb) from this folder instead")
    return parser


def main(argv: list[str] | None = None) -> int:
    from retainwise.execution.confinement import forbid_inspection
    from retainwise.settings import Settings

    args = build_parser(Settings.from_env()).parse_args(argv)
    forbid_inspection()  # its kernels (same user) cannot read its /proc/<pid>/environ: the secret is there
    environment()
    _app_class().launch_instance(argv=voila_argv(args.port, args.ip, not args.no_preheat, args.notebooks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
