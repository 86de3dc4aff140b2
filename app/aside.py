"""The warm-up's worker process: the pictures, results, first samples and splits the warm-up makes for the pages,
made outside the server's interpreter and handed to the page caches.

A page run shares the server's interpreter lock with the warm-up's thread: while the warm-up explains, generates a
split or draws a picture in the server, a visitor's page runs at about half speed whatever the thread's scheduling
priority. So the warm-up makes them (:func:`draw_aside`, :func:`offer`) in one worker process of the lowest
scheduling priority, and its thread only waits meanwhile. A view's default selection is made at once (a first render
needs it soon: the lowest priority is enough to leave the visitor's browser and page the cores they ask for); a next
step only once the visitor has been idle for ``BACKGROUND_QUIET_SECONDS`` (the worker is stopped, ``SIGSTOP``,
meanwhile), as the next steps' background processes. A result is offered under the key of the page-cache entry it is
for: the cache's function takes it (:func:`taken`) instead of computing it, and a page that needs a result the worker
is still making waits for it, the worker let run meanwhile, instead of making it twice. Where no worker can start,
everything is made in the server as before.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Hashable

#: What :func:`taken` returns for a key nothing was offered under (or whose making failed).
MISSING = object()

_WORKER: Any = None
_LOCK = threading.Lock()
_OFFERED: dict[Hashable, Any] = {}  # page-cache key -> the worker's Future
_WAITING = [0]  # page runs waiting for the worker's result

log = logging.getLogger(__name__)


def worker():
    """The warm-up's worker process (started on first use; None where one cannot start): one worker of the lowest
    scheduling priority, ended with the thread that started it (the warm-up's, or the server's)."""
    global _WORKER
    with _LOCK:
        if _WORKER is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            from interp_core.evaluation.warmup import become_background_child

            try:
                _WORKER = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=become_background_child)
            except (OSError, ValueError) as err:
                log.warning("No worker process (%s): the warm-up works in the server.", err)
                _WORKER = False
        return _WORKER or None


def _import_libraries() -> None:
    # In the worker, as soon as it starts: what every result needs (torch, the datasets, the page caches' module).
    import app.models  # noqa: F401
    import interp_core.data  # noqa: F401
    import interp_core.device  # noqa: F401  (imports torch)


def start_worker(until: threading.Event | None = None) -> None:
    """Start the worker process now and let it import its libraries (a couple of seconds, at the lowest priority), so
    that the warm-up's first step does not wait for them; with ``until`` (the warm-up's ``finished``), end it then: it
    holds its own copy of the models and splits (about 1 GB once every view is warm)."""
    pool = worker()
    if pool is not None:
        pool.submit(_import_libraries)
        if until is not None:
            threading.Thread(target=lambda: until.wait() and stop_worker(), name="interp-core-worker-end", daemon=True).start()


def stop_worker() -> None:
    """End the worker process (a later use starts another)."""
    global _WORKER
    with _LOCK:
        pool, _WORKER = _WORKER, None
    if pool:
        pool.shutdown(wait=False, cancel_futures=True)


def _in_worker(function: Callable, args: tuple, kwargs: dict, key: Hashable | None = None) -> Any:
    """``function(*args, **kwargs)`` in the worker, waited for between visits (and offered under ``key`` while it
    is made); raises what it raised, or ``RuntimeError`` where there is no worker."""
    from concurrent.futures import wait
    from concurrent.futures.process import BrokenProcessPool

    from interp_core.evaluation.warmup import BACKGROUND_QUIET_SECONDS, running, wait_between_visits

    for attempt in range(2):
        pool = worker()
        if pool is None:
            raise RuntimeError("no worker process")
        try:
            future = pool.submit(function, *args, **kwargs)
            break
        except BrokenProcessPool:  # it ended (with the thread that started it, or out of memory): start another, once
            stop_worker()
            if attempt:
                raise
    if key is not None:
        _OFFERED[key] = future
    # A view's default: needed by a first render soon, so made at once (at the lowest priority); a next step: only
    # while the visitor has been idle for a while, as the next steps' background processes.
    next_step = (warmup := running()) is not None and warmup.next_steps
    wait_between_visits(lambda timeout: bool(wait([future], timeout=timeout).done), lambda: list(pool._processes or ()),
                        BACKGROUND_QUIET_SECONDS if next_step else 0.0, browser=next_step, needed=lambda: _WAITING[0] > 0)
    return future.result()


def draw_aside(draw: Callable, *args: Any, **kwargs: Any) -> Any:
    """``draw(*args, **kwargs)`` (a picture: matplotlib holds the interpreter lock while it draws) in the worker
    process; in this process where that fails."""
    try:
        return _in_worker(draw, args, kwargs)
    except Exception as err:  # a broken worker: draw here
        log.warning("The worker process failed to draw (%s): drawing in the server.", err)
    return draw(*args, **kwargs)


def _pickled(function: Callable, *args: Any) -> bytes:
    # In the worker: the result as plain pickle bytes (tensors copied, not shared through file descriptors).
    import pickle

    return pickle.dumps(function(*args), protocol=pickle.HIGHEST_PROTOCOL)


def offer(key: Hashable, function: Callable, *args: Any) -> None:
    """Make ``function(*args)`` in the worker process for the page-cache entry ``key``, which takes it
    (:func:`taken`) when the warm-up or a page next asks for that entry. Returns when it is made (or failed: the
    entry is then computed in the server as before, and the failure logged)."""
    try:
        _in_worker(_pickled, (function, *args), {}, key)
    except Exception as err:
        _OFFERED.pop(key, None)
        log.warning("The worker process failed (%s): the warm-up computes %s in the server.", err, getattr(function, "__name__", function))


def withdraw(key: Hashable) -> None:
    """Forget what was offered under ``key`` and not taken (its entry was made meanwhile by a page)."""
    _OFFERED.pop(key, None)


def taken(key: Hashable) -> Any:
    """The result offered under ``key`` (waited for while the worker makes it), once; :data:`MISSING` when there is
    none or its making failed. Called by a page cache's function before it computes."""
    future = _OFFERED.pop(key, None)
    if future is None:
        return MISSING
    with _LOCK:
        _WAITING[0] += 1
    try:
        import pickle

        return pickle.loads(future.result())
    except Exception:
        return MISSING
    finally:
        with _LOCK:
            _WAITING[0] -= 1
