"""interp_core as an installable package (pyproject.toml, setup.py).

Fast: pyproject.toml pins exactly what requirements.txt pins (requirements.txt is what CI and the README's
commands install; pyproject.toml must follow it), the console command is the module's CLI, and the shipped
assets resolve from the checkout or from the copy an installed wheel carries.

Slow (``-m slow``, in CI): a wheel built from the checkout holds every shipped checkpoint exactly once and
nothing of the checkout besides the package; installed into a fresh virtual environment outside the
checkout (its dependencies seen through a ``.pth`` line naming this environment's site-packages: nothing
downloads), ``interp-core list --json`` and ``eval`` from a temporary folder give what the checkout gives,
a snippet explains a shipped model's test sample, and docs/example_notebook.py runs, none of them with
the checkout on ``sys.path``.
"""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from interp_core import paths

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _pin(line: str) -> tuple[str, str]:
    """``(canonical name, the rest: extras, specifier, marker)`` of one requirement line."""
    req = Requirement(line)
    rest = f"[{','.join(sorted(req.extras))}]" * bool(req.extras) + str(req.specifier) + (f"; {req.marker}" if req.marker else "")
    return canonicalize_name(req.name), rest


def requirements_txt() -> dict[str, str]:
    lines = [line.split("#", 1)[0].strip() for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines()]
    return dict(_pin(line) for line in lines if line)


def pyproject_pins() -> dict[str, set[str]]:
    project = PYPROJECT["project"]
    lines = project["dependencies"] + [line for extra in project.get("optional-dependencies", {}).values() for line in extra]
    pins: dict[str, set[str]] = {}
    for line in lines:
        name, rest = _pin(line)
        pins.setdefault(name, set()).add(rest)
    return pins


def pin_differences(wanted: dict[str, str], declared: dict[str, set[str]]) -> list[str]:
    """Every way ``declared`` (pyproject.toml) differs from ``wanted`` (requirements.txt), one line each."""
    problems = [f"only in requirements.txt: {name}{rest}" for name, rest in wanted.items() if name not in declared]
    problems += [f"only in pyproject.toml: {name}{'|'.join(sorted(rests))}" for name, rests in declared.items() if name not in wanted]
    problems += [f"{name}: requirements.txt pins {wanted[name]}, pyproject.toml {'|'.join(sorted(rests))}"
                 for name, rests in declared.items() if name in wanted and rests != {wanted[name]}]
    return problems + [f"not an exact pin: {name}{rest}" for name, rest in wanted.items() if not re.fullmatch(r"(\[.*\])?==[^,;]+", rest)]


def test_pyproject_pins_exactly_what_requirements_txt_pins():
    """requirements.txt is the source (CI installs it); pyproject.toml's dependencies and extras together
    must pin the same packages at the same versions, every pin exact."""
    problems = pin_differences(requirements_txt(), pyproject_pins())
    assert problems == [], "pyproject.toml and requirements.txt disagree:\n  " + "\n  ".join(problems)


def test_the_pin_comparison_names_each_difference():
    assert _pin("psycopg[binary]==3.3.9") == ("psycopg", "[binary]==3.3.9")
    assert _pin("open_clip_torch==3.3.0") == _pin("open-clip-torch==3.3.0")
    wanted = {"numpy": "==2.4.6", "statsmodels": "==0.15.0", "psycopg": "[binary]==3.3.9", "tqdm": ">=4"}
    declared = {"numpy": {"==2.4.7"}, "psycopg": {"[binary]==3.3.9"}, "tqdm": {">=4"}, "torch": {"==2.14.1"}}
    assert pin_differences(wanted, declared) == [
        "only in requirements.txt: statsmodels==0.15.0",
        "only in pyproject.toml: torch==2.14.1",
        "numpy: requirements.txt pins ==2.4.6, pyproject.toml ==2.4.7",
        "not an exact pin: tqdm>=4",
    ]


def test_console_command_and_version_come_from_the_package():
    project = PYPROJECT["project"]
    assert project["scripts"] == {"interp-core": "interp_core.cli:main"}
    assert "from interp_core.cli import main" in (REPO / "interp_core" / "__main__.py").read_text(encoding="utf-8")
    assert "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "interp_core.__version__"}
    import interp_core

    assert Version(interp_core.__version__) >= Version("0.1")


def test_shipped_assets_come_from_the_checkout_or_from_the_installed_copy(tmp_path):
    checkout = tmp_path / "checkout" / "interp_core"
    checkout.mkdir(parents=True)
    assert paths.shipped_assets_dir(checkout) == tmp_path / "checkout" / "assets"
    installed = tmp_path / "site-packages" / "interp_core"
    (installed / paths.INSTALLED_ASSETS / "checkpoints").mkdir(parents=True)
    (tmp_path / "site-packages" / "assets").mkdir()  # another distribution's top-level folder is not ours
    assert paths.shipped_assets_dir(installed) == installed / paths.INSTALLED_ASSETS
    # this checkout: its own assets/, the one copy in the tree
    assert paths.ASSETS_DIR == REPO / "assets"
    assert paths.SHIPPED_CHECKPOINTS == REPO / "assets" / "checkpoints"
    assert not (REPO / "interp_core" / paths.INSTALLED_ASSETS).exists()
    # setup.py puts assets/ where paths.py looks for it
    assert f'INSTALLED_ASSETS = Path("interp_core", "{paths.INSTALLED_ASSETS}")' in (REPO / "setup.py").read_text(encoding="utf-8")


# ---------------------------------------------------------------- the wheel, installed outside the checkout

SNIPPET = r"""
import json, sys
from pathlib import Path
import interp_core
from interp_core.data import load_split
from interp_core.methods import get_explainer
from interp_core.store import checkpoint_stems, load_model

loaded = load_model("bcos-shapes", train_if_missing=False)
test = load_split("shapes", "test")
x, label = test.inputs([0])[0], int(test.labels[0])
explanation = get_explainer("bcos", loaded).explain(x, [label])[0]
print(json.dumps({
    "package": interp_core.__file__, "sys_path": [str(Path(p or ".").resolve()) for p in sys.path],
    "source": loaded.source, "shipped": str(checkpoint_stems(loaded.recipe)["shipped"]),
    "label": label, "predicted": int(loaded.model(x[None]).argmax()),
    "shape": list(explanation.attribution.shape), "logit": explanation.score,
    "map_sum": float(explanation.attribution.sum()), "classes": test.info.num_classes,
}))
"""


def _run(cmd: list, **kwargs) -> str:
    """stdout of ``cmd``; on failure, an error that shows the command and everything it printed."""
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _wheel_contents(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_works_from_any_folder(tmp_path):
    # 1. the wheel: the package and every shipped checkpoint once, nothing else of the checkout
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", tmp_path / "wheels", REPO])
    (wheel,) = (tmp_path / "wheels").glob("interp_core-*.whl")
    names = _wheel_contents(wheel)
    assert {n.split("/")[0] for n in names} == {"interp_core", wheel.name.split("-py3")[0] + ".dist-info"}
    shipped = sorted(p.name for p in (REPO / "assets" / "checkpoints").iterdir() if not p.name.startswith("."))
    assert shipped, "no shipped checkpoints in assets/checkpoints"
    in_wheel = sorted(n for n in names if n.endswith((".safetensors", ".json")) and "/checkpoints/" in n)
    assert in_wheel == [f"interp_core/{paths.INSTALLED_ASSETS}/checkpoints/{name}" for name in shipped]
    assert sum(n.endswith(".safetensors") for n in names) == sum(n.endswith(".safetensors") for n in shipped)
    projections = sorted(p.name for p in (REPO / "assets" / "projections").glob("*.npz"))
    results = sorted(p.name for p in (REPO / "assets" / "results").rglob("*.npz"))  # shipped results (ship-results)
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.endswith(".npz")) == sorted(projections + results)
    print(f"\nwheel {wheel.name}: {wheel.stat().st_size / 2**20:.1f} MiB, {len(names)} files, "
          f"{len(shipped)} checkpoint files")

    # 2. a fresh venv outside the checkout; its dependencies are this environment's, seen through a .pth line
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    deps = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    assert str(REPO) not in deps
    (site / "_interp_core_test_deps.pth").write_text("\n".join(deps) + "\n")
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel])

    work, home = tmp_path / "work", tmp_path / "home"  # a fresh user cache: models can only be shipped ones
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env.update(INTERP_CORE_HOME=str(home), HF_HUB_OFFLINE="1", MPLBACKEND="Agg", PYTHONNOUSERSITE="1")

    # 3. the console command sees exactly what the checkout's CLI sees with the same (empty) user cache
    installed = json.loads(_run([venv / "bin" / "interp-core", "list", "--json"], cwd=work, env=env))
    checkout = json.loads(_run([sys.executable, "-m", "interp_core", "list", "--json"], cwd=REPO, env=env))
    assert installed == checkout
    shipped_rows = [r for r in installed["recipes"] if r["status"] == "shipped"]
    assert len(shipped_rows) == sum(n.endswith(".json") for n in shipped)
    evaluated = json.loads(_run([venv / "bin" / "interp-core", "eval", "cnn-digits", "--json"], cwd=work, env=env))
    recorded = json.loads(next((REPO / "assets" / "checkpoints").glob("cnn-digits-*.json")).read_text())["test_metrics"]
    assert evaluated["source"] == "shipped"
    assert evaluated["accuracy"] == pytest.approx(recorded["accuracy"], abs=1e-6)

    # 4. a shipped model explains a test sample, with the installed package and no checkout on sys.path
    result = json.loads(_run([python, "-c", SNIPPET], cwd=work, env=env))
    assert Path(result["package"]).parent == site / "interp_core"
    assert str(REPO) not in result["sys_path"]
    assert [p for p in result["sys_path"] if (Path(p) / "interp_core").is_dir()] == [str(site)]
    assert result["source"] == "shipped"
    assert Path(result["shipped"]).parent == site / "interp_core" / paths.INSTALLED_ASSETS / "checkpoints"
    assert result["shape"] == [64, 64] and result["predicted"] == result["label"]
    # B-cos Eq. 15: the contribution map sums to the logit minus the fixed bias -log(C - 1) (Eq. 16)
    assert result["map_sum"] == pytest.approx(result["logit"] + math.log(result["classes"] - 1), rel=1e-4)

    # 5. the example notebook, run as a script from the same folder
    notebook = work / "example_notebook.py"
    notebook.write_text((REPO / "docs" / "example_notebook.py").read_text(encoding="utf-8"))
    printed = _run([python, notebook], cwd=work, env=env)
    residual = float(re.search(r"bcos map sum - \(logit - bias\) = (\S+)", printed).group(1))
    means = dict(re.findall(r"^(\w+) +pointing game per cell .* mean (\S+)$", printed, re.MULTILINE))
    assert abs(residual) < 1e-3
    assert set(means) == {"bcos", "gradcam"} and all(float(m) > 0.25 for m in means.values())  # 1/4 is chance
