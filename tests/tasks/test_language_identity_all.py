"""Language identity with one classifier over all the task's languages (`all_languages: true`; Libovický et al.
2020, chance 1/L): the split by source sentence, rows per target, a distinct script recognised, the refusal
without the task's own targets (validate = run), and cell keys unchanged where unset, keyed by the L languages
where set."""

from pathlib import Path

import pytest

from mbert_eval.config.loading import load_experiment
from mbert_eval.data import ParallelPair
from mbert_eval.errors import UserError
from mbert_eval.grid.resolve import resolve, validate
from mbert_eval.grid.run import run_experiment
from mbert_eval.store.results import ResultStore
from mbert_eval.tasks.language_identity import split_by_pivot
from tests.helpers import Workspace, assert_refused, family_experiment, run_cli, write_config

TARGETS = ["qab", "qac", "qad"]


def devanagari(line: str) -> str:
    """The line with each Latin letter written as a Devanagari one: a script the tiny model's vocabulary lacks."""
    return "".join(chr(0x0905 + ord(c) - ord("a")) if "a" <= c <= "z" else c for c in line)


def write_languages(folder: Path, family) -> dict:
    """Parallel files of 3 targets against the family's base (the source, qaa), 50 pairs each: the family's qab
    (Cyrillic, its own words); qac, each source sentence in Devanagari (every word one [UNK] to the tiny model's
    tokenizer); qad, each source sentence with its words reversed (the source's own script and words)."""
    parallel = family.root / "parallel"
    source = (parallel / "qaa-qab.qaa").read_text(encoding="utf-8").splitlines()
    sides = {
        "qab": (parallel / "qaa-qab.qab").read_text(encoding="utf-8").splitlines(),
        "qac": [devanagari(line) for line in source],
        "qad": [" ".join(reversed(line.split())) for line in source],
    }
    for code, lines in sides.items():
        (folder / f"{code}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (folder / f"pivot-{code}.txt").write_text("\n".join(source) + "\n", encoding="utf-8")
    return {"test": str(folder / "{lang}.txt"), "pivot": str(folder / "pivot-{lang}.txt")}


def identity_config(folder: Path, family, model: Path, **options) -> dict:
    raw = family_experiment(family, model, output=str(folder / "out"))
    raw["tasks"] = {"language_identity": {**write_languages(folder, family), **options}}
    raw["targets"] = TARGETS
    return raw


def test_the_split_never_tests_a_sentence_whose_source_sentence_trained():
    pivots = [f"p{i}" for i in range(10)]
    pairs = {
        "de": [ParallelPair(f"de{i}", p) for i, p in enumerate(pivots)],
        "fr": [ParallelPair(f"fr{i}", p) for i, p in reversed(list(enumerate(pivots)))],  # another order
        # a repeated target sentence: its pair with a training source sentence trains, so it is never tested
        "es": [ParallelPair(f"es{i}", p) for i, p in enumerate(pivots)] + [ParallelPair("es1", "p9")],
    }
    split = split_by_pivot(pairs)
    trained = set(pivots[:5])  # the first half of the first language's source sentences
    assert set(split.source_train) == trained and set(split.source_test) == set(pivots[5:])
    for code in pairs:
        assert {pair.target for pair in split.train[code]} == trained
        assert all(pair.target not in trained for pair in split.test[code])
        assert not {pair.source for pair in split.test[code]} & {pair.source for pair in split.train[code]}
    assert len(split.test["es"]) == 5 and ParallelPair("es1", "p9") not in split.test["es"]


def test_languages_not_translating_the_same_sentences_are_refused():
    pairs = {
        "de": [ParallelPair(f"de{i}", f"p{i}") for i in range(6)],
        "fr": [ParallelPair(f"fr{i}", f"q{i}") for i in range(6)],  # other source sentences: none trains
    }
    with pytest.raises(UserError, match="fr has 0 pairs to train on and 6 to test"):
        split_by_pivot(pairs)


@pytest.fixture(scope="module")
def store(tmp_path_factory, small_family, tiny_model) -> ResultStore:
    folder = tmp_path_factory.mktemp("identity-all")
    raw = identity_config(folder, small_family, tiny_model, all_languages=True, targets=TARGETS)
    experiment, problems = load_experiment(write_config(folder / "exp.yaml", raw))
    assert problems == [] and validate(experiment) == []
    run_experiment(experiment)
    return ResultStore(experiment.store_path)


@pytest.fixture(scope="module")
def rows(store) -> list:
    return store.rows()


def test_rows_per_target_with_chance_one_in_four(rows):
    assert {row.target for row in rows} == set(TARGETS)
    for target in TARGETS:
        mine = {row.metric: row for row in rows if row.target == target}
        assert set(mine) == {"accuracy"} | {f"accuracy_layer{layer:02d}" for layer in range(3)}
        main = mine["accuracy"]
        assert main.extra["chance"] == 0.25 and main.extra["all_languages"] == 4
        assert main.score == mine[f"accuracy_layer{main.extra['layer']:02d}"].score
        assert all(0 <= row.score <= 1 for row in mine.values())
        overall = main.extra["overall_accuracy_by_layer"]
        assert len(overall) == 3 and all(0 <= value <= 1 for value in overall)
        assert 0 < main.n_examples < 50  # the held-out sentences of the 50 pairs read, not all of them
    # one classifier per cell: every row holds the same overall curve
    assert len({tuple(row.extra["overall_accuracy_by_layer"]) for row in rows}) == 1


def test_a_script_of_its_own_is_recognised_and_the_source_s_own_words_are_not_as_well(rows):
    """qac's sentences share no piece with any other language's (each word one [UNK]): the classifier assigns
    nearly all of them to qac at every layer. qad is the source's own words in another order: it is confused
    with the others (the source above all) far more often, so the number is not one the setup gives every class."""
    score = {(row.target, row.metric): row.score for row in rows}
    layers = [f"accuracy_layer{layer:02d}" for layer in range(3)]
    assert all(score["qac", layer] >= 0.95 for layer in layers), [score["qac", layer] for layer in layers]
    assert max(score["qad", layer] for layer in layers) < 0.9


def test_evaluate_reads_the_target_s_held_out_predictions(tmp_path, small_family, tiny_model):
    """Per held-out sentence: its hit, gold its language, prediction the class predicted; the pairwise mode's
    numbers are those of a task without the option."""
    import torch

    from mbert_eval.config.experiment import TaskConfig
    from mbert_eval.languages import lookup
    from mbert_eval.tasks import get_task

    config = TaskConfig(targets=TARGETS, **write_languages(tmp_path, small_family))
    task = get_task("language_identity", config, all_languages=True)
    prepared = task.prepare(str(tiny_model), [], [], None, torch.device("cpu"))
    assert prepared.classes == ["source", *TARGETS]
    for code in TARGETS:
        scores = task.evaluate(prepared, task.target_examples(lookup(code)), torch.device("cpu"))
        outputs = scores.examples
        assert scores.chance == 0.25 and len(outputs.stats) == 25  # the pairs of the second half of the sources
        assert outputs.gold == [code] * 25 and set(outputs.predictions) <= set(prepared.classes)
        assert outputs.array().mean() == scores["accuracy"]
        assert [hit for (hit,) in outputs.stats] == [float(p == code) for p in outputs.predictions]
    with pytest.raises(UserError, match="no listed target's"):
        task.evaluate(prepared, task.target_examples(lookup("qab"))[:10], torch.device("cpu"))
    plain = get_task("language_identity", config)
    examples = plain.target_examples(lookup("qab"))
    ready = plain.prepare(str(tiny_model), [], [], None, torch.device("cpu"))
    assert "all_languages" not in ready.log and plain.evaluate(ready, examples, torch.device("cpu")).chance == 0.5


@pytest.mark.parametrize("command", ["validate", "run"])
def test_all_languages_without_the_task_s_own_targets_is_refused(command, workspace: Workspace):
    def edit(raw: dict) -> None:
        raw["tasks"] = {
            "language_identity": {**write_languages(workspace.root, workspace.family), "all_languages": True}
        }
        raw["targets"] = TARGETS

    workspace.fill_store()
    assert_refused(
        run_cli(command, workspace.config(edit)), command, "all_languages needs the task's own `targets:`", workspace
    )


@pytest.mark.parametrize("command", ["validate", "run"])
def test_all_languages_with_the_source_among_the_targets_is_refused(command, workspace: Workspace):
    def edit(raw: dict) -> None:
        task = {**write_languages(workspace.root, workspace.family), "all_languages": True}
        raw["tasks"] = {"language_identity": {**task, "targets": ["qaa", *TARGETS]}}  # qaa: the source

    workspace.fill_store()
    assert_refused(run_cli(command, workspace.config(edit)), command, "target qaa is the source", workspace)


@pytest.mark.parametrize("command", ["validate", "run"])
def test_all_languages_with_two_languages_of_the_same_pairs_is_refused_before_anything_runs(
    command, workspace: Workspace
):
    """The L languages' files are read together before anything runs (before, only when the cell ran, after
    `validate` had said OK): two languages whose pairs are the same file cannot be told apart."""

    def edit(raw: dict) -> None:
        files = write_languages(workspace.root, workspace.family)
        test = {code: files["test"].format(lang=code) for code in TARGETS} | {"qac": files["test"].format(lang="qab")}
        pivot = {code: files["pivot"].format(lang=code) for code in TARGETS}
        raw["tasks"] = {"language_identity": {"test": test, "pivot": pivot, "all_languages": True, "targets": TARGETS}}

    workspace.fill_store()
    assert_refused(run_cli(command, workspace.config(edit)), command, "qac has the same pairs as qab", workspace)


def test_cell_keys_change_only_where_set(tmp_path, small_family, tiny_model):
    keys = {}
    for label, options in (
        ("plain", {}),
        ("unset", {"all_languages": None}),
        ("targets", {"targets": TARGETS}),
        ("fewer", {"targets": TARGETS[:2]}),
        ("all", {"all_languages": True, "targets": TARGETS}),
        ("all of fewer", {"all_languages": True, "targets": TARGETS[:2]}),
    ):
        raw = identity_config(tmp_path, small_family, tiny_model, **options)
        experiment, problems = load_experiment(write_config(tmp_path / f"{label}.yaml", raw))
        assert problems == []
        keys[label] = [cell.key for cell in resolve(experiment).cells]
    assert keys["plain"] == keys["unset"] == keys["targets"] == keys["fewer"] and keys["targets"] != keys["all"]
    # the L-way classifier's languages change every target's recall: they key the cell
    assert keys["all of fewer"] != keys["all"]


def test_the_report_draws_the_l_way_panel_from_a_run(store):
    import html

    from mbert_eval.report import render_report

    page = html.unescape(render_report(store, "why"))
    section = page[page.index('<section id="why">') :]
    assert "one linear classifier over 4 languages" in section and "chance 1/4" in section
    assert "4-way language identity: mean recall over 3 targets" in section and "chance is 25%." in section
