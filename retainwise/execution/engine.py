"""A Papermill engine that executes on an already connected kernel client.

Papermill (through nbclient) connects a new client to the kernel for every
notebook and waits for it to be ready; jupyter_client's readiness check ends
by draining IOPub until 0.2 s pass in silence, and the first connection to a
new kernel costs more. Per run that is paid twice (the pipeline notebook and
the report notebook), on the critical path, even when the kernel itself was
started long before (the runner's pool). This engine takes a client that is
already connected and ready (``kc=``): the pool connects it while warming,
``retainwise score`` connects it once for both notebooks.

Everything else is Papermill's own nbclient engine.
"""

from __future__ import annotations

import queue
import time

from jupyter_client.session import Session
from nbclient.exceptions import DeadKernelError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

ENGINE_NAME = "retainwise"


class ConnectedClientEngine(NBClientEngine):
    """Papermill's nbclient engine, with an optional ready client ``kc`` for the kernel ``km``."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man,
        kernel_name,
        log_output=False,
        stdout_file=None,
        stderr_file=None,
        start_timeout=60,
        execution_timeout=None,
        **kwargs,
    ):
        kc = kwargs.pop("kc", None)
        stamp = kwargs.pop("stamp", None)
        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            safe_kwargs,
            timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        if stamp is not None:
            # Which kernel process ran this notebook (kernels.kernel_stamp), set before the cells run so that
            # Papermill's own write of the executed notebook carries it, failures included: stamping it
            # afterwards meant reading and writing the executed notebook (1 MB with a report) again.
            nb_man.nb.metadata["retainwise"] = stamp
        client = PapermillNotebookClient(nb_man, **final_kwargs)
        if kc is not None:
            kc.allow_stdin = False
            _notice_death(kc, kwargs.get("km"))
            client.kc = (
                kc  # nbclient then skips connecting and waiting; it never closes a client it did not make
            )
        return client.execute()


def _notice_death(kc, km) -> None:
    """Make ``kc``'s waits notice a dead kernel, as nbclient's own asynchronous client does.

    nbclient awaits ``get_msg`` and polls the kernel's life in a parallel task; our client is a
    blocking one (the pool warms it with ``execute_interactive``), so without a cell timeout a wait
    for a kernel that died would block the event loop, and that poll, forever. Waits are cut into
    one-second slices, checking between them that the kernel lives.
    """
    if km is None or getattr(kc, "_retainwise_watched", False):
        return
    for channel in (kc.shell_channel, kc.iopub_channel):

        def get_msg(timeout=None, _get=channel.get_msg):
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                step = 1.0 if deadline is None else min(1.0, max(0.0, deadline - time.monotonic()))
                try:
                    return _get(timeout=step)
                except queue.Empty:
                    if not km.is_alive():
                        raise DeadKernelError("Kernel died") from None
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

        channel.get_msg = get_msg
    kc._retainwise_watched = True


def connect(km, timeout: float = 60):
    """A started, ready client for ``km``'s kernel (stop it with ``kc.stop_channels()``)."""
    # Its own Session (same key, new session id): km.client() shares the manager's, and jupyter_client uses
    # the session id as the shell socket's identity, so any other client of the kernel (a debugger, a test)
    # would take over this client's replies and leave it waiting forever.
    kc = km.client(session=Session(key=km.session.key, signature_scheme=km.session.signature_scheme))
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=timeout)
    except Exception:
        kc.stop_channels()
        raise
    return kc


papermill_engines.register(ENGINE_NAME, ConnectedClientEngine)
