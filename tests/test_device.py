"""The device Home shows (interp_core.device_label.device_label): named without importing torch when nothing has
imported it yet, and the same device that choose_device picks."""
from __future__ import annotations

import subprocess
import sys

from interp_core import device_label as device
from interp_core.paths import REPO_ROOT


def test_the_label_needs_no_torch_and_names_the_device_torch_chooses():
    script = ("import sys; from interp_core.device_label import device_label; label = device_label(); "
              "imported = 'torch' in sys.modules; from interp_core.device import choose_device; "
              "print(imported, label.split()[0], choose_device().type)")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}).stdout.split()
    imported, labelled, chosen = out
    assert imported == "False"
    assert labelled == chosen


def test_a_cuda_build_with_a_driver_gpu_is_labelled_by_the_drivers_model_name(tmp_path, monkeypatch):
    monkeypatch.delenv("INTERP_CORE_DEVICE", raising=False)
    monkeypatch.delitem(sys.modules, "torch", raising=False)  # as before anything imported it
    gpu = tmp_path / "0000:01:00.0"
    gpu.mkdir()
    (gpu / "information").write_text("Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   42\n")
    monkeypatch.setattr(device, "_torch_build_has_cuda", lambda: True)
    assert device.device_label(tmp_path) == "cuda (NVIDIA H100 80GB HBM3)"
    monkeypatch.setattr(device, "_torch_build_has_cuda", lambda: False)  # a CPU-only torch cannot use that GPU
    assert device.device_label(tmp_path).startswith("cpu (")
    assert device.device_label(tmp_path / "no-driver").startswith(("cpu (", "mps"))
