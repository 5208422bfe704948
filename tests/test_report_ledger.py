"""The report kernels' bookkeeping (retainwise.reports.ledger) and the busy note, without a server."""

from __future__ import annotations

from retainwise.reports import busy
from retainwise.reports.ledger import (
    BUSY,
    FIRST_CONNECT_S,
    LINK_BUSY,
    LOADING_S,
    MAX_WARMING,
    SETTLE_S,
    Ledger,
    Limits,
    Slot,
    available_mb,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ledger(free_mb: float = 10_000, **limits) -> tuple[Ledger, Clock]:
    """A ledger on a fake clock; pages in flight unbounded unless ``in_flight`` is given (its own tests)."""
    clock = Clock()
    limits.setdefault("in_flight", 100)
    return Ledger(Limits(**limits), clock=clock, free_mb=lambda: free_mb), clock


def test_a_link_past_its_cap_gets_the_static_report():
    book, _ = ledger(per_link=2)
    first = book.claim("team", ready=5, pooled=5)
    book.bind(first, "k1")
    second = book.claim("team", ready=4, pooled=4)
    assert isinstance(first, Slot) and isinstance(second, Slot)
    assert book.claim("team", ready=3, pooled=3) == LINK_BUSY
    assert isinstance(book.claim("another link", ready=3, pooled=3), Slot)


def test_no_ready_kernel_means_the_static_report_now_and_a_bigger_pool():
    book, clock = ledger(total=6, pool_base=2)
    taken = [book.claim(f"l{i}", ready=2, pooled=2) for i in range(2)]
    assert all(isinstance(s, Slot) for s in taken)
    assert book.claim("l3", ready=2, pooled=3) == BUSY  # the two ready ones are claimed, not yet bound
    for i, s in enumerate(taken):
        book.bind(s, f"k{i}")
    for _ in range(5):
        assert book.claim("l4", ready=0, pooled=2) == BUSY  # pages are being sent: no waiting in a burst
    assert book.pool_target(pooled=0) == 4  # base 2 plus demand, within total 6 minus the 2 in use
    clock.now += 31
    assert book.pool_target(pooled=4) == 2  # demand has passed: back to the base


def test_a_lone_visitor_waits_for_a_warming_kernel_but_a_burst_does_not():
    book, _ = ledger()
    lone = book.claim("a", ready=0, pooled=2)  # nothing ready, two warming, no other page being sent
    assert isinstance(lone, Slot)
    book.bind(lone, "k1")
    assert book.claim("b", ready=0, pooled=1) == BUSY  # the lone visitor's page is still being sent
    book.delivered(lone)
    assert isinstance(book.claim("b", ready=0, pooled=1), Slot)


def test_the_pool_never_grows_past_what_memory_holds_and_warms_a_few_at_a_time():
    book, clock = ledger(free_mb=100, total=10, pool_base=2)
    assert book.claim("x", ready=0, pooled=0) == BUSY
    assert book.pool_target(pooled=2) == 2
    clock.now += SETTLE_S
    assert book.to_start(target=8, pooled=2, warming=0) == MAX_WARMING
    assert book.to_start(target=8, pooled=2, warming=MAX_WARMING) == 0
    slot = book.claim("y", ready=1, pooled=2)  # a page being sent: nothing starts until it is out
    assert book.to_start(target=8, pooled=2, warming=0) == 0
    book.bind(slot, "k1")
    book.delivered(slot)
    clock.now += LOADING_S - 1  # delivered, but the browser is still loading its scripts: no connection yet
    assert book.gone({}, {"k1"}) == []
    assert book.to_start(target=8, pooled=2, warming=0) == 0
    book.gone({"k1": 1}, {"k1"})  # its widgets connected: they are being built now
    assert book.to_start(target=8, pooled=2, warming=0) == 0
    clock.now += SETTLE_S
    assert book.to_start(target=8, pooled=2, warming=0) == MAX_WARMING


def test_without_preheating_the_total_cap_and_memory_decide():
    book, _ = ledger(total=2)
    book.bind(book.claim("a", ready=0, pooled=0, preheat=False), "k1")
    book.bind(book.claim("b", ready=0, pooled=0, preheat=False), "k2")
    assert book.claim("c", ready=0, pooled=0, preheat=False) == BUSY
    tight, _ = ledger(free_mb=100, total=5)
    assert tight.claim("a", ready=0, pooled=0, preheat=False) == BUSY


def test_a_kernel_whose_page_is_gone_is_named_after_gone_s():
    book, clock = ledger(gone_s=10)
    slot = book.claim("a", ready=1, pooled=1)
    book.bind(slot, "k1")
    assert book.gone({}, {"k1"}) == []  # the page is still being sent: no websocket yet, not gone
    book.delivered(slot)
    clock.now += 30
    assert (
        book.gone({}, {"k1"}) == []
    )  # delivered, its scripts still loading: the first connection may take long
    clock.now += 5
    assert book.gone({"k1": 1}, {"k1"}) == []  # connected: the clock restarts
    clock.now += 9
    assert book.gone({"k1": 0}, {"k1"}) == []
    clock.now += 2
    assert book.gone({"k1": 0}, {"k1"}) == ["k1"]
    assert book.gone({}, set()) == [] and book.in_use() == 0  # shut down: its slot goes


def test_a_page_that_never_connects_is_gone_after_the_first_connection_grace():
    book, clock = ledger(gone_s=10)
    slot = book.claim("a", ready=1, pooled=1)
    book.bind(slot, "k1")
    book.delivered(slot)
    clock.now += FIRST_CONNECT_S
    assert book.gone({}, {"k1"}) == ["k1"]


def test_a_claim_whose_request_failed_is_given_back():
    book, _ = ledger(per_link=1)
    slot = book.claim("a", ready=1, pooled=1)
    book.delivered(slot)  # never bound to a kernel
    assert book.in_use() == 0 and isinstance(book.claim("a", ready=1, pooled=1), Slot)


def test_available_memory_reads_a_containers_limit(tmp_path):
    (tmp_path / "meminfo").write_text("MemTotal: 100000000 kB\nMemAvailable:  8388608 kB\n")
    (tmp_path / "memory.max").write_text(str(2 * 2**30))
    (tmp_path / "memory.current").write_text(str(2**30))
    assert available_mb(tmp_path / "meminfo", tmp_path) == 1024
    (tmp_path / "memory.max").write_text("max")
    assert available_mb(tmp_path / "meminfo", tmp_path) == 8192


def test_the_busy_note_goes_on_top_of_the_static_report():
    report = (
        '<!DOCTYPE html><html><head><title>r</title></head><body class="x"><div id="rw-rows">5</div></body>'
    )
    page = busy.with_note(report, LINK_BUSY)
    assert page.index('id="rw-busy"') > page.index('<body class="x">') and page.index("rw-busy") < page.index(
        "rw-rows"
    )
    assert "Too many open reports" in page and "Close one of the other pages" in page
    alone = busy.with_note(None, BUSY)
    assert 'id="rw-busy"' in alone and "Reload this page in a minute" in alone


def test_a_lone_visitor_waits_for_a_cold_kernel_while_the_machine_has_room():
    # Two visitors took the preheated kernels and the pool has not started refilling: the next visitor,
    # alone, gets a kernel (Voila starts one) rather than the static page; one arriving while that page
    # is still being sent gets the static page; with no room or memory, so does a lone one.
    book, _ = ledger(total=4)
    for kernel in ("k1", "k2"):
        slot = book.claim(kernel, ready=1, pooled=1)
        book.bind(slot, kernel)
        book.delivered(slot)
    lone = book.claim("team", ready=0, pooled=0)
    assert isinstance(lone, Slot)
    assert book.claim("colleague", ready=0, pooled=0) == BUSY
    full, _ = ledger(total=2)
    for kernel in ("k1", "k2"):
        slot = full.claim(kernel, ready=1, pooled=1)
        full.bind(slot, kernel)
        full.delivered(slot)
    assert full.claim("team", ready=0, pooled=0) == BUSY
    starved, _ = ledger(free_mb=10)
    assert starved.claim("team", ready=0, pooled=0) == BUSY


def test_interactive_pages_in_flight_are_capped_until_their_widgets_connect():
    book, clock = ledger(in_flight=1, total=6)
    first = book.claim("a", ready=2, pooled=2)
    assert isinstance(first, Slot)
    assert book.claim("b", ready=2, pooled=2) == BUSY  # being sent: a second one would slow both
    book.bind(first, "k1")
    book.delivered(first)
    clock.now += 1
    assert book.claim("b", ready=1, pooled=1) == BUSY  # sent, but its scripts are still loading
    book.connected("k1")  # its scripts reached the kernel: the page is built
    assert book.gone({}, {"k1"}) == [] and book.in_flight() == 0  # closed before any watch saw it open
    second = book.claim("b", ready=1, pooled=1)
    assert isinstance(second, Slot) and book.in_flight() == 1
    assert len(book.misses) == 2  # the refused visitors count as demand: the pool grows for their reload
    book.bind(second, "k2")
    book.delivered(second)
    clock.now += LOADING_S - 1
    assert book.in_flight() == 1
    clock.now += 1  # a page whose scripts never connect stops counting after LOADING_S (its kernel stays)
    assert book.in_flight() == 0 and book.gone({}, {"k2"}) == []


def test_pages_in_flight_default_to_the_cpus_but_one(tmp_path, monkeypatch):
    from retainwise.reports import ledger as ledger_module
    from retainwise.settings import Settings

    (tmp_path / "cpu.max").write_text("150000 100000\n")  # a container's 1.5 CPUs
    monkeypatch.setattr("os.sched_getaffinity", lambda _: {0, 1, 2, 3})
    assert ledger_module.cpus(tmp_path) == 2
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert ledger_module.cpus(tmp_path) == 4
    monkeypatch.setattr(ledger_module, "cpus", lambda: 4)
    home = {"RETAINWISE_HOME": str(tmp_path)}
    assert Limits.from_settings(Settings.from_env(home), 2).in_flight == 3
    monkeypatch.setattr(ledger_module, "cpus", lambda: 1)
    assert Limits.from_settings(Settings.from_env(home), 2).in_flight == 1
    chosen = Settings.from_env({**home, "RETAINWISE_REPORT_PAGES_IN_FLIGHT": "5"})
    assert Limits.from_settings(chosen, 2).in_flight == 5
