"""A pool of pre-started, single-use kernels.

Papermill starts a fresh kernel for every run, and that start plus the heavy
imports is most of the cost of a normal upload. Reusing one kernel would be
fast but unsafe (one business's variables visible to the next, one crash kills
everyone). The pool takes the start-up cost off the critical path without
giving up isolation:

- kernels are started, and import the heavy *libraries* only, before any
  upload arrives: no tenant data, secrets or run parameters exist in a kernel
  before it is handed out;
- each kernel serves exactly one run and is then shut down, whatever happened,
  in the background (jupyter_client waits 0.1 s for the process to go: not on
  the run's clock);
- a replacement warms in the background once the run it replaces has ended, or
  ``refill_after`` seconds into it, whichever comes first: warming costs a few
  CPU-seconds, and on a small machine a replacement warming *during* a short run
  takes them from that run. A kernel that dies while waiting is discarded and
  replaced, never handed out.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from retainwise.errors import ExecutionError
from retainwise.execution.confinement import confined_argv

log = logging.getLogger("retainwise.execution.kernels")


KERNEL_NAME = "python3"


def ipc_socket_prefix(owner: str = "kernels") -> str:
    """A fresh, private IPC socket prefix for one kernel, under ``<tmp>/retainwise-<owner>`` (mode 0700).

    jupyter_client picks IPC "ports" by probing which socket files exist, so kernels started at the
    same moment (a pool warming, two report visitors) could otherwise share sockets: each kernel gets
    a prefix of its own. Raises OSError when the folder cannot be made.
    """
    sockets = Path(tempfile.gettempdir()) / f"retainwise-{owner}"
    sockets.mkdir(mode=0o700, exist_ok=True)
    return str(sockets / uuid.uuid4().hex[:16])


def start_kernel(cwd: Path | None = None, env: dict | None = None):
    """Start a python3 kernel on IPC transport and return its KernelManager.

    Raises what jupyter_client raises when the kernel cannot start.
    """
    from jupyter_client.manager import KernelManager  # ~0.1 s: processes that start no kernel never load it

    km = KernelManager(kernel_name=KERNEL_NAME, transport="ipc", ip=ipc_socket_prefix())
    # Started confined: no capabilities, so it cannot read its non-dumpable starter (confinement.py says why)
    km.kernel_spec.argv = confined_argv(km.kernel_spec.argv)
    # xgboost without scikit-learn in run kernels (science.model.import_xgboost says why); the name is
    # spelled here, not imported: importing science.model would load pandas into every CLI process
    env = {**(os.environ if env is None else env), "RETAINWISE_LEAN_XGBOOST": "1"}
    km.start_kernel(cwd=str(cwd or Path.cwd()), env=env)
    return km


#: What a warm kernel has imported before it is handed out: libraries and shipped artefacts only.
WARM_UP = (
    "import numpy, pandas\n"
    # xgboost as a run imports it (without scikit-learn, science.model.import_xgboost): a full import
    # cost this warm-up 1 s more CPU, all of it on the 2 CPUs a run in progress uses too
    "from retainwise.science.model import import_xgboost, load_model\n"
    "import_xgboost()\n"
    # the bundled model, verified and cached by science.model: shipped with the package, no tenant's
    "load_model()\n"
    "from IPython.display import HTML, Markdown, display\n"
    "import retainwise.science.display, retainwise.science.pipeline, retainwise.science.playbook\n"
    "import retainwise.reports.charts, retainwise.reports.view\n"
    # what the stages import on first use (progress bars, the playbook, Arrow's readers and writers)
    "import tqdm.auto, pyarrow.compute, pyarrow.csv, pyarrow.feather, pyarrow.parquet\n"
    "retainwise.science.playbook.load()\n"
    # The report notebook's own warm-up (its modules, widgets and a blank chart; no tenant data), which
    # every run executes after the pipeline notebook: paid here, off the run's clock.
    "retainwise.reports.view.prepare()\n"
    "del numpy, pandas, import_xgboost, load_model, HTML, Markdown, display, tqdm, pyarrow\n"
)


def kernel_pid(km) -> int | None:
    """The operating-system process id of ``km``'s kernel, when known."""
    provisioner = getattr(km, "provisioner", None)
    return getattr(provisioner, "pid", None) or getattr(getattr(provisioner, "process", None), "pid", None)


#: Attribute of a pool kernel's manager holding its connected, ready client (see retainwise.execution.engine).
POOL_CLIENT = "retainwise_client"


def kernel_stamp(km) -> dict:
    """What an executed notebook records of its kernel: the process id, and whether the pool warmed it."""
    # A pool kernel carries the client it connected while warming; a cold one does not.
    return {"kernel_pid": kernel_pid(km), "kernel_pooled": hasattr(km, POOL_CLIENT)}


def warm(km, timeout: float = 120) -> None:
    """Run the warm-up imports in ``km``'s kernel and keep the ready client on it; ExecutionError on failure."""
    from retainwise.execution.engine import connect  # Papermill (~0.3 s) only in processes that warm kernels

    kc = connect(km, timeout)
    try:
        reply = kc.execute_interactive(
            WARM_UP, timeout=timeout, store_history=False, output_hook=lambda msg: None
        )
        if reply["content"]["status"] != "ok":
            raise ExecutionError(
                f"Kernel warm-up failed: {reply['content'].get('evalue', '')}", code="warm_up"
            )
    except BaseException:
        kc.stop_channels()
        raise
    setattr(km, POOL_CLIENT, kc)


def _prepare_static_report() -> None:
    from retainwise.execution.static_report import prepare

    try:
        prepare()
    except (
        Exception
    ) as exc:  # only a head start: the first run's render then pays for it, or says what is wrong
        log.warning("preparing the static report failed (%s: %s)", type(exc).__name__, exc)


class KernelPool:
    """``size`` warm kernels, each handed to exactly one run.

    Use ``with pool.kernel() as km: run_pipeline(..., km=km)``. ``close()``
    shuts every kernel down. Thread-safe: several runner threads may take
    kernels at once.
    """

    def __init__(
        self,
        size: int = 1,
        *,
        cwd: str | Path | None = None,
        env: dict | None = None,
        check_every: float = 1.0,
        refill_after: float = 10.0,
    ) -> None:
        if size < 1:
            raise ValueError("a kernel pool needs at least one kernel")
        self.size = size
        self.cwd = Path(cwd) if cwd else Path.cwd()
        self.env = env
        self._ready: queue.Queue = queue.Queue()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._starting = 0
        self.started = 0  # kernels ever started (for tests and stats)
        self.replaced = 0  # idle kernels found dead and replaced
        self.failures = 0  # warm-ups that failed
        self._check_every = check_every
        #: Seconds a kernel may be out before its replacement starts warming even though its run goes on.
        self.refill_after = refill_after
        self._out: dict[int, threading.Timer] = {}  # handed-out kernels whose replacement has not started
        self._stopping: set[threading.Thread] = set()  # background shutdowns of used kernels
        self._watchdog = threading.Thread(target=self._watch, name="kernel-pool-watchdog", daemon=True)

    # -- lifecycle -------------------------------------------------------
    def start(self) -> KernelPool:
        for _ in range(self.size):
            self._refill()
        self._watchdog.start()
        # This process renders every run's report.html: nbconvert is made ready now, not in the first run.
        threading.Thread(target=_prepare_static_report, name="kernel-pool-nbconvert", daemon=True).start()
        return self

    def close(self, timeout: float = 30) -> None:
        """Shut every kernel down, waiting (up to ``timeout`` s) for those still warming, so none outlives us."""
        self._closed.set()
        deadline = time.monotonic() + timeout
        while True:
            try:
                km = self._ready.get_nowait()
            except queue.Empty:
                with self._lock:
                    starting = self._starting
                if starting == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
                continue
            self._shutdown(km)
        with self._lock:
            timers, stopping = list(self._out.values()), list(self._stopping)
            self._out.clear()
        for timer in timers:
            timer.cancel()
        for thread in stopping:  # used kernels still shutting down: none outlives the pool either
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> KernelPool:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- handing out -----------------------------------------------------
    def acquire(self, timeout: float | None = 120) -> object:
        """A warm, live kernel manager for one run (waits while replacements warm)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                km = self._ready.get(timeout=remaining)
            except queue.Empty:
                raise ExecutionError("No warm kernel became ready in time.", code="pool_timeout") from None
            if km.is_alive():
                self._replace_later(km)
                return km
            log.warning("discarding a pool kernel that died while idle")
            self.replaced += 1
            self._refill()
            self._shutdown(km)

    def discard(self, km) -> None:
        """Shut down a kernel after its one run (never returned to the pool); its replacement starts warming.

        The kernel is killed here (it can do nothing more); waiting for its process to go and removing
        its files finish in the background, and :meth:`close` waits for them.
        """
        self._replace(km)
        try:
            km.signal_kernel(signal.SIGKILL)
        except Exception:  # already gone: the background shutdown cleans up what is left
            pass
        stopper = threading.Thread(target=self._stop_used, args=(km,), name="kernel-pool-stop", daemon=True)
        with self._lock:
            self._stopping.add(stopper)
        stopper.start()

    @contextmanager
    def kernel(self, timeout: float | None = 120):
        km = self.acquire(timeout)
        try:
            yield km
        finally:
            self.discard(km)

    @property
    def ready(self) -> int:
        return self._ready.qsize()

    def wait_ready(self, count: int | None = None, timeout: float = 120) -> None:
        """Block until ``count`` (default: all) kernels are warm; for tests and benchmarks."""
        count = self.size if count is None else count
        deadline = time.monotonic() + timeout
        while self.ready < count:
            if time.monotonic() > deadline:
                raise ExecutionError("The kernel pool did not warm up in time.", code="pool_timeout")
            time.sleep(0.05)

    # -- internals -------------------------------------------------------
    def _replace_later(self, km) -> None:
        """Start ``km``'s replacement when its run ends (:meth:`discard`) or after ``refill_after`` s."""
        timer = threading.Timer(self.refill_after, self._replace, args=(km,))
        timer.daemon = True
        with self._lock:
            self._out[id(km)] = timer
        timer.start()

    def _replace(self, km) -> None:
        """Start the one replacement of the handed-out ``km`` (the first call does; later ones do nothing)."""
        with self._lock:
            timer = self._out.pop(id(km), None)
        if timer is not None:
            timer.cancel()
            self._refill()

    def _stop_used(self, km) -> None:
        try:
            self._shutdown(km)
        finally:
            with self._lock:
                self._stopping.discard(threading.current_thread())

    def _refill(self) -> None:
        if self._closed.is_set():
            return
        with self._lock:
            self._starting += 1
        threading.Thread(target=self._start_one, name="kernel-pool-warm", daemon=True).start()

    def _start_one(self) -> None:

        km = None
        try:
            km = start_kernel(cwd=self.cwd, env=self.env)
            self.started += 1
            warm(km)
            if self._closed.is_set():
                self._shutdown(km)
            else:
                self._ready.put(km)
        except Exception as exc:  # a failed warm-up must not take the pool down; try again, slower each time
            self.failures += 1
            log.warning("kernel warm-up failed (%s: %s); retrying", type(exc).__name__, exc)
            if km is not None:
                self._shutdown(km)
            if not self._closed.wait(min(30.0, 0.5 * 2 ** min(self.failures, 6))):
                self._refill()
        finally:
            with self._lock:
                self._starting -= 1

    def _watch(self) -> None:
        """Replace kernels that die while they wait, so the pool stays full."""
        while not self._closed.wait(self._check_every):
            for _ in range(self._ready.qsize()):
                try:
                    km = self._ready.get_nowait()
                except queue.Empty:
                    break
                if km.is_alive():
                    self._ready.put(km)
                else:
                    log.warning("replacing a pool kernel that died while idle")
                    self.replaced += 1
                    self._shutdown(km)
                    self._refill()

    @staticmethod
    def _shutdown(km) -> None:
        kc = getattr(km, POOL_CLIENT, None)
        if kc is not None:
            kc.stop_channels()
        try:
            km.shutdown_kernel(now=True)
        except Exception:  # already dead: nothing to clean beyond its files
            try:
                km.cleanup_resources()
            except Exception:
                pass
