"""``python -m interp_core benchmark``: the parser, the JSON result, the table and the recorded file."""
from __future__ import annotations

import json

import pytest

from interp_core.cli.main import build_parser, main


def _shipped(name: str) -> bool:
    from interp_core.paths import SHIPPED_CHECKPOINTS
    from interp_core.store import get_recipe, recipe_hash

    return (SHIPPED_CHECKPOINTS / f"{name}-{recipe_hash(get_recipe(name))}.json").exists()


def test_parser_takes_the_documented_options():
    args = build_parser().parse_args(["benchmark", "creatures", "--models", "a,b", "--methods", "gradient", "--images", "5", "--json"])
    assert args.benchmark == "creatures" and args.models == "a,b" and args.images == 5 and args.json
    assert args.normalise == "positive" and args.costly_images is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["benchmark", "no-such-benchmark"])


@pytest.mark.skipif(not _shipped("cnn-sounds"), reason="needs the shipped cnn-sounds checkpoint")
def test_json_and_table_on_sounds_mix(tmp_path, monkeypatch, capsys):
    from interp_core.data import load_split

    load_split("sounds-mix", "test")
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    argv = ["benchmark", "sounds-mix", "--models", "cnn-sounds", "--methods", "gradient,gradcam", "--images", "3"]
    assert main(argv + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(r["model"], r["method"]) for r in out["rows"]] == [("cnn-sounds", "gradient"), ("cnn-sounds", "gradcam")]
    assert [r["method"] for r in out["references"]] == ["random", "uniform", "oracle"]
    assert out["rows"][0]["images"] == 3 and out["rows"][0]["sd"] is not None
    assert main(argv) == 0  # the table, from the cache
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["model", "method", "images"] and sum("cnn-sounds" in line for line in table) == 5


def test_unknown_method_is_one_line_error(capsys):
    assert main(["benchmark", "sounds-mix", "--models", "cnn-sounds", "--methods", "no-such-method"]) == 2
    assert "Unknown explanation method" in capsys.readouterr().err
