"""Process-level allocator setting: applied once, switchable, recorded by the benchmark harness."""
from __future__ import annotations

import platform
import subprocess
import sys


def _state_in_fresh_process(env_value: str | None) -> str:
    import os

    env = dict(os.environ)
    env.pop("INTERP_CORE_MALLOC_TUNING", None)
    if env_value is not None:
        env["INTERP_CORE_MALLOC_TUNING"] = env_value
    code = ("from interp_core.runtime import retain_freed_memory, malloc_tuning_state; "
            "before = malloc_tuning_state(); first = retain_freed_memory(); second = retain_freed_memory(); "
            "assert first == second == malloc_tuning_state(); print(before, first)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_malloc_tuning_is_on_under_glibc_and_off_when_asked():
    before, state = _state_in_fresh_process(None)
    assert before == "unused"
    expected = "on" if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc" else "unavailable"
    assert state == expected
    assert _state_in_fresh_process("0")[1] == "off"


def test_benchmark_conditions_record_the_allocator():
    from interp_core.bench.harness import compare, conditions

    compare(lambda: None, lambda: None, rounds=1, warmup=0)
    assert conditions()["malloc_tuning"] in ("on", "off", "unavailable")
