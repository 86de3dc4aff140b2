"""A limited child process that runs library calls on the adversarial corpus, one request at a time.

The child sets ``RLIMIT_AS`` (its address space after the imports plus a fixed headroom), so a
multi-terabyte allocation fails at once instead of swapping the machine, and measures for every call
its own time and its peak resident memory growth (``VmHWM`` reset through ``/proc/self/clear_refs``).
The parent (:class:`Worker`) waits for each answer with a generous deadline: a hang kills the child
and fails the test instead of CI. The 2 s / 200 MB acceptance bounds are asserted on the figures the
child measured, so a loaded machine's slow Python start-up cannot make the tests flaky.

Run as ``python -m tests.hardening.worker``: reads one JSON request per line on stdin, answers one
JSON line on stdout.
"""
from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: Acceptance bounds of issue 12, for the guard's own work.
TIME_BUDGET_S = 2.0
MEMORY_BUDGET_MB = 200.0
#: Address space allowed beyond what the imports mapped (thread stacks and malloc arenas are virtual).
AS_HEADROOM_BYTES = 1536 * 1024 * 1024
#: Hang guard per call, in the parent: far above the budget, because start-up on a loaded machine is slow.
HANG_GUARD_S = 60.0
START_GUARD_S = 180.0


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    if os.environ.get("HARDENING_NO_CLEAR_REFS"):
        return False
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- calls run in the child

def _upload_image(path: str, name: str) -> dict:
    from interp_core import inputs

    image = inputs.load_image(Path(path).read_bytes(), name)
    return {"size": list(image.size), "notes": image.info.get(inputs.NOTES_KEY, [])}


def _upload_audio(path: str, name: str) -> dict:
    from interp_core import inputs

    wave, notes = inputs.load_audio(Path(path).read_bytes(), name)
    return {"samples": int(wave.shape[0]), "notes": notes}


def _load_real(kind: str, root: str, split: str | None = "train", **kwargs) -> dict:
    from interp_core.data.real import load_real

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_real(kind, root, split, **kwargs)
    return {"n": len(data), "shape": list(data.data.shape), "warnings": [str(w.message) for w in caught]}


def _check_folder(kind: str, root: str) -> dict:
    from interp_core.data.real import check_real_folder

    return check_real_folder(kind, root)


def _read_metadata(stem: str) -> dict:
    from interp_core.store.checkpoint import read_metadata

    return {"keys": sorted(read_metadata(Path(stem)))}


def _load_checkpoint(stem: str) -> dict:
    from interp_core.store.checkpoint import load_checkpoint

    state, _ = load_checkpoint(Path(stem))
    return {"tensors": len(state)}


def _load_state_file(path: str) -> dict:
    from interp_core.store.checkpoint import load_state_file

    return {"tensors": len(load_state_file(path))}


def _catalog(home: str, recipe: str) -> dict:
    os.environ["INTERP_CORE_HOME"] = home
    from interp_core.store.catalog import checkpoint_fingerprint, checkpoint_meta, checkpoint_status, code_status

    return {"status": checkpoint_status(recipe), "has_meta": bool(checkpoint_meta(recipe)),
            "fingerprint": checkpoint_fingerprint(recipe), "code": code_status(recipe)}


CALLS = {
    "upload_image": _upload_image, "upload_audio": _upload_audio, "load_real": _load_real,
    "check_folder": _check_folder, "read_metadata": _read_metadata, "load_checkpoint": _load_checkpoint,
    "load_state_file": _load_state_file, "catalog": _catalog,
}


def _answer(request: dict) -> dict:
    import gc

    gc.collect()
    measured = _reset_peak()
    before = _status_kb("VmRSS:")
    start = time.perf_counter()
    try:
        result = CALLS[request["call"]](**request.get("args", {}))
        answer = {"ok": True, "result": result}
    except BaseException as err:  # report any escape, foreign or not, to the parent
        answer = {"ok": False, "error": f"{type(err).__module__}.{type(err).__qualname__}", "message": str(err)}
    answer["seconds"] = time.perf_counter() - start
    answer["rss_growth_mb"] = (_status_kb("VmHWM:") - before) / 1024 if measured else None
    return answer


def _audit_writes(log_path: str) -> None:
    """Without strace: record every open for writing, rename and removal this process asks for."""
    written: list[str] = []

    def hook(event: str, args: tuple) -> None:
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            if writing:
                written.append(f"open {os.fsdecode(args[0])}")
        elif event in ("os.rename", "os.remove", "os.unlink", "os.mkdir", "os.rmdir"):
            written.append(f"{event} {os.fsdecode(args[0])}")

    sys.addaudithook(hook)
    import atexit

    atexit.register(lambda: Path(log_path).write_text("\n".join(written)))


def main() -> None:
    import resource

    if os.environ.get("HARDENING_AUDIT_LOG"):
        _audit_writes(os.environ["HARDENING_AUDIT_LOG"])

    # Everything a call may import, imported before the limit is set and the clock starts.
    import interp_core.data.real  # noqa: F401
    import interp_core.inputs  # noqa: F401
    import interp_core.store.catalog  # noqa: F401
    import interp_core.store.checkpoint  # noqa: F401
    import pandas  # noqa: F401
    import PIL.Image  # noqa: F401
    import scipy.signal  # noqa: F401
    import soundfile  # noqa: F401

    limit = _status_kb("VmSize:") * 1024 + AS_HEADROOM_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    print(json.dumps({"ready": True, "as_limit": limit}), flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(_answer(json.loads(line)), default=str), flush=True)


# ---------------------------------------------------------------- parent side

def child_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MALLOC_ARENA_MAX="2", HF_HUB_OFFLINE="1",
               INTERP_CORE_HOME=str(home), OMP_NUM_THREADS="1", TQDM_DISABLE="1")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


class Worker:
    """The parent's handle on one child: ``call(call_name, **args)`` returns the child's answer dict."""

    def __init__(self, home: Path, command_prefix: tuple[str, ...] = (), **env: str):
        self.home = home
        self.prefix = command_prefix
        self.env = child_env(home, **env)
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [*self.prefix, sys.executable, "-m", "tests.hardening.worker"], cwd=REPO, env=self.env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1,
        )
        ready = self._read_line(START_GUARD_S)
        assert ready and json.loads(ready).get("ready"), "the worker did not start"

    def _read_line(self, timeout: float) -> str | None:
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if selector.select(max(0.0, deadline - time.monotonic())):
                    return self.proc.stdout.readline()
            return None
        finally:
            selector.close()

    def call(self, _call: str, /, **args) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.proc.stdin.write(json.dumps({"call": _call, "args": args}) + "\n")
        self.proc.stdin.flush()
        line = self._read_line(HANG_GUARD_S)
        if not line:
            crashed = self.proc.poll()
            self.close()
            raise AssertionError(f"{_call}{args}: " + (f"the worker died (exit {crashed})" if crashed is not None
                                                      else f"no answer within {HANG_GUARD_S:.0f} s: a hang"))
        return json.loads(line)

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.close()  # end of requests: the child exits by itself
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
            for stream in (self.proc.stdout,):
                try:
                    stream.close()
                except OSError:
                    pass
            self.proc = None


def within_budget(answer: dict) -> None:
    """The acceptance bounds, on the figures the child measured for the call itself (appended as one
    JSON line to the file ``$HARDENING_FIGURES`` names, when set, for a report of every case)."""
    if os.environ.get("HARDENING_FIGURES"):
        with open(os.environ["HARDENING_FIGURES"], "a") as fh:
            fh.write(json.dumps({"test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0],
                                 "seconds": round(answer["seconds"], 4), "rss_growth_mb": answer.get("rss_growth_mb"),
                                 "outcome": answer.get("error", "ok")}) + "\n")
    assert answer["seconds"] < TIME_BUDGET_S, f"took {answer['seconds']:.2f} s: {answer}"
    if answer.get("rss_growth_mb") is not None:
        assert answer["rss_growth_mb"] < MEMORY_BUDGET_MB, f"used {answer['rss_growth_mb']:.0f} MB: {answer}"


def refused(answer: dict, error: str, *needles: str) -> str:
    """Assert the call failed with the project's ``error`` (dotted class name) within budget; its message."""
    within_budget(answer)
    assert not answer["ok"], f"expected {error}, got a result: {answer}"
    assert answer["error"] == error, f"a foreign or wrong exception escaped: {answer}"
    for needle in needles:
        assert needle in answer["message"], (needle, answer["message"])
    return answer["message"]


def loaded(answer: dict) -> dict:
    within_budget(answer)
    assert answer["ok"], answer
    return answer["result"]


if __name__ == "__main__":
    main()
