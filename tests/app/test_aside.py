"""The warm-up's worker process (app/aside.py): pictures and results made in another process, a result handed to
the page cache that asks for it (waited for, the worker let run, while a page needs it), a view's default made at
once and a next step only between visits, and a worker that ended replaced."""
from __future__ import annotations

import os
import threading
import time

from interp_core.evaluation import warmup


def test_the_warmup_draws_in_its_own_process_what_the_page_would_draw():
    """``draw_aside`` draws in the worker process (another process), the same bytes as drawing here."""
    import os

    import numpy as np

    from app import figures
    from app.aside import draw_aside

    assert draw_aside(os.getpid) != os.getpid()
    values = np.random.default_rng(0).standard_normal((16, 16)).astype(np.float32)
    assert draw_aside(figures.map_png, "signed", values, scale="contribution") == figures.map_png("signed", values, scale="contribution")


def slow_pid() -> int:
    time.sleep(1.5)
    return os.getpid()


def test_a_page_that_needs_what_the_worker_makes_waits_for_it_and_lets_it_run(monkeypatch):
    """A page run needs a result the warm-up's worker is making: it takes that result (nothing made twice), and the
    worker, stopped while a page runs when it makes a next step, is let run meanwhile (else the page would wait for
    ever)."""
    from app import aside

    run = warmup.Warmup(object(), [], max_yield=0)
    run.next_steps = True
    monkeypatch.setattr(warmup, "_RUNNING", run)
    key = ("a test result", time.time())
    with run.visit():  # a visitor's page run from now on: the worker is stopped
        offering = threading.Thread(target=aside.offer, args=(key, slow_pid))
        offering.start()
        time.sleep(0.5)
        got: list = []
        page = threading.Thread(target=lambda: got.append(aside.taken(key)), daemon=True)
        page.start()
        page.join(20)
        assert got and isinstance(got[0], int) and got[0] != os.getpid()  # made in the worker, taken here
    offering.join(60)
    assert not offering.is_alive() and aside.taken(key) is aside.MISSING  # taken once


def test_the_worker_makes_a_default_at_once_and_a_next_step_only_between_visits(monkeypatch):
    """A view's default is made in the worker while a visitor's page runs (a first render needs it soon; the worker
    has the lowest priority); a next step waits until the visitor has been idle for a while."""
    from app import aside

    run = warmup.Warmup(object(), [], max_yield=0)
    monkeypatch.setattr(warmup, "_RUNNING", run)
    aside.draw_aside(os.getpid)  # the worker started
    with run.visit():
        start = time.monotonic()
        assert aside.draw_aside(slow_pid) != os.getpid()
        assert time.monotonic() - start < 1.5 + 3.0
        run.next_steps = True
        making = threading.Thread(target=aside.draw_aside, args=(slow_pid,))
        making.start()
        making.join(1.5 + 2.0)
        assert making.is_alive()  # stopped while the page runs
    making.join(30)
    assert not making.is_alive()


def test_a_worker_that_ended_with_the_thread_that_started_it_is_replaced():
    """The worker ends with the thread that started it (e.g. a warm-up's, in a server without the lifespan): the next
    picture or result is still made in a worker, a new one, not in this process."""
    from app import aside

    aside.stop_worker()
    starter = threading.Thread(target=lambda: aside.draw_aside(os.getpid))
    starter.start()
    starter.join()
    time.sleep(1.0)  # its SIGKILL arrives with that thread's end
    assert aside.draw_aside(os.getpid) != os.getpid()
