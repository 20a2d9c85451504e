"""Start fast (issue 21): naming, listing and checking import no torch, transformers, scikit-learn (nor seqeval,
which imports it) and no pandas or datasets. Each command runs in a fresh interpreter, which then reports the
heavy modules it loaded; the command must still do its job. No timings: what is imported is what is checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.helpers import REPO_ROOT, family_experiment, write_config

HEAVY = ("torch", "transformers", "sklearn", "seqeval", "pandas", "datasets")
PROBE = """
import json, sys
from mbert_eval.cli import main
heavy = json.loads(sys.argv[2])
sys.argv = ["mbert-eval", *json.loads(sys.argv[1])]
try:
    main()
    code = 0
except SystemExit as exit:
    code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
print("PROBE " + json.dumps({"code": code, "loaded": [name for name in heavy if name in sys.modules]}))
"""


def _env() -> dict[str, str]:
    """This checkout first on the path (the package may be installed from another one)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}


def probe(*args: str, cwd=None) -> tuple[int, str, list[str]]:
    """Run `mbert-eval ARGS` in a fresh interpreter: its exit code, its output, and the heavy modules loaded."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=cwd or REPO_ROOT,
        timeout=120,
    )
    lines = done.stdout.splitlines()
    assert lines and lines[-1].startswith("PROBE "), done.stdout + done.stderr
    result = json.loads(lines[-1].removeprefix("PROBE "))
    return result["code"], "\n".join(lines[:-1]) + done.stderr, result["loaded"]


def test_importing_the_command_line_imports_no_torch():
    code = "import sys, mbert_eval.cli; assert 'torch' not in sys.modules, 'torch imported'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120)
    assert done.returncode == 0, done.stderr


def test_help_imports_nothing_heavy():
    code, output, loaded = probe("--help")
    assert code == 0 and "validate" in output and "quickstart" in output
    assert loaded == []


@pytest.mark.parametrize(
    "what, expected",
    [
        ("languages", "sw"),
        ("tasks", "xquad"),
        ("methods", "baseline"),
        ("executors", "ray"),
        ("metrics", "entity_scores"),
    ],
)
def test_ls_imports_nothing_heavy(what, expected):
    code, output, loaded = probe("ls", what)
    assert code == 0 and expected in output, output
    assert loaded == []


def _every_method(family, model) -> dict:
    """The family grid with a method of every kind: an option, each checkpoint step, a chain (whose checks read
    the parallel text and the aligner's settings)."""
    root, base = family.root, family.languages[0].code
    return family_experiment(
        family,
        model,
        methods=["baseline", {"name": "freeze", "freeze": 1}, "tlm", "align", "tlm+align"],
        parallel={
            "source": f"{root}/parallel/{{src}}-{{lang}}.{{src}}",
            "target": f"{root}/parallel/{{src}}-{{lang}}.{{lang}}",
            "alignments": f"{root}/parallel/{{src}}-{{lang}}.align",
        },
        align={"aligner_method": "itermax"},
    ) | {"sources": [base]}


@pytest.mark.parametrize("grid", ["tasks", "every method"])
def test_validate_imports_nothing_heavy(tmp_path, small_family, tiny_model, grid):
    raw = family_experiment(small_family, tiny_model) if grid == "tasks" else _every_method(small_family, tiny_model)
    config = write_config(tmp_path / "exp.yaml", raw)
    code, output, loaded = probe("validate", str(config))
    assert code == 0 and f"{config}: OK" in output, output
    assert loaded == []


def test_validate_checks_the_aligner_settings_without_torch(tmp_path, small_family, tiny_model):
    raw = _every_method(small_family, tiny_model)
    raw["align"]["aligner_method"] = "inter"
    code, output, loaded = probe("validate", str(write_config(tmp_path / "exp.yaml", raw)))
    assert code == 2 and "align.aligner_method: unknown alignment method(s) inter" in output, output
    assert loaded == []


def test_validate_still_finds_problems_without_torch(tmp_path, small_family, tiny_model):
    raw = family_experiment(small_family, tiny_model, training={"batching": "shuffled", "lr_schedule": "cosine"})
    raw["tasks"]["ner"] = {"test": str(tmp_path / "missing-{lang}.txt")}
    config = write_config(tmp_path / "bad.yaml", raw)
    code, output, loaded = probe("validate", str(config))
    assert code == 2
    assert "training.batching: unknown value 'shuffled'" in output and "training.lr_schedule" in output
    assert "tasks.ner" in output
    assert loaded == []


def test_schedule_list_imports_nothing_heavy(tmp_path, small_family, tiny_model):
    pytest.importorskip("apscheduler", reason="scheduled jobs need the `schedule` extra")
    write_config(tmp_path / "exp.yaml", family_experiment(small_family, tiny_model))
    job = {"config": "exp.yaml", "schedule": "0 2 * * *", "timezone": "UTC", "report": "reports/nightly.html"}
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(yaml.safe_dump({"jobs": {"nightly": job}}), encoding="utf-8")
    code, output, loaded = probe("schedule", "list", str(jobs))
    assert code == 0 and "nightly: '0 2 * * *' (UTC)" in output and "last run: never" in output, output
    assert loaded == []


def test_a_run_whose_cells_are_all_stored_imports_no_torch(tmp_path, small_family, tiny_model):
    """A rerun with nothing to compute (a scheduled job's usual run) imported torch and transformers only to
    restore their state after computing nothing: 2.2 CPU s of a 0.6 s run. The first run computes (and imports
    them); the second finds every cell stored and imports neither, nor scikit-learn."""
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("paraphrase")
    config = write_config(tmp_path / "exp.yaml", raw)
    code, output, loaded = probe("run", str(config), "-q", "--no-report", cwd=tmp_path)
    assert code == 0 and "torch" in loaded, output
    code, output, loaded = probe("run", str(config), "-q", "--no-report", cwd=tmp_path)
    assert code == 0 and "0 cells run" in output, output
    assert [name for name in loaded if name in ("torch", "transformers", "sklearn")] == []


def test_python_dash_m_runs_the_command_line():
    """`python -m mbert_eval` is `mbert-eval` (it said there was no `__main__` module)."""
    done = subprocess.run(
        [sys.executable, "-m", "mbert_eval", "ls", "executors"], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert done.returncode == 0 and "ray" in done.stdout, done.stderr
    imported = subprocess.run(  # imported (a documentation tool, a spawned process), it runs nothing
        [sys.executable, "-c", "import mbert_eval.__main__"], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert imported.returncode == 0 and imported.stdout == "", imported.stdout
