"""Train/test leakage (issue 20): dev or test rows that are training rows, or translations of them, are refused by
`validate` and `run` in one line naming both specs and the rows; `tasks.NAME.allow_overlap` allows them. One table
row per case, over the synthetic family's treebanks (the same sentences in every language, as XNLI, PAWS-X, PUD
and XQuAD are), then the real files of ../shared/data and every shipped config."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mbert_eval.cli.quickstart import quickstart_config, real_quickstart_config
from mbert_eval.config.experiment import TaskConfig
from mbert_eval.config.loading import load_experiment
from mbert_eval.data.spec import DataSpec
from mbert_eval.grid.leakage import hub_default_problems, leakage_problems, same_pattern
from mbert_eval.languages import lookup
from mbert_eval.tasks import build_task
from tests.helpers import REPO_ROOT, STORED, Workspace, one_error_line, run_cli, write_config

PAWSX = "hub:google-research-datasets/paws-x"


@pytest.mark.parametrize(
    "one, one_language, other, other_language, parallel",
    [
        ("/d/xnli/dev-en.tsv", "en", "/d/xnli/dev-de.tsv", "de", True),
        ("/home/de/dev-en.tsv", "en", "/home/de/dev-de.tsv", "de", True),  # a folder named like a language stays
        ("/d/tatoeba.deu-eng.deu", "de", "/d/tatoeba.fra-eng.fra", "fr", True),
        ("hub:google/xtreme@udpos.English:test", "en", "hub:google/xtreme@udpos.German:test", "de", True),
        ("/d/ud/en/en_ewt-ud-train.conllu", "en", "/d/ud/pud/de_pud-ud-test.conllu", "de", False),
        ("hub:facebook/xnli@en:validation", "en", "hub:facebook/xnli@de:test", "de", False),
        ("/d/dev-en.tsv", "en", "/d/dev-end.tsv", "de", False),  # a code inside a word is no placeholder
        ("/d/wikiann/en/train", "en", "/d/wikiann/de/test", "de", False),
    ],
)
def test_same_pattern(one: str, one_language: str, other: str, other_language: str, parallel: bool) -> None:
    assert same_pattern(DataSpec(one), lookup(one_language), DataSpec(other), lookup(other_language)) is parallel


def test_hub_specs_of_one_pattern_match_whatever_revision_each_pins() -> None:
    pinned, latest = DataSpec(f"{PAWSX}@en:validation#main"), DataSpec(f"{PAWSX}@de:validation")
    assert same_pattern(pinned, lookup("en"), latest, lookup("de"))


def test_links_to_content_named_files_keep_the_languages_their_names_write(tmp_path: Path) -> None:
    """A Hugging Face cache (or git-annex, DVC) keeps `snapshots/REV/dev-de.tsv` as a link to `blobs/<hash>`: the
    names written say which files are translations of each other, the resolved ones do not."""
    (tmp_path / "blobs").mkdir()
    (snapshot := tmp_path / "snapshots" / "abc").mkdir(parents=True)
    for language, blob in (("en", "3f2a"), ("de", "9c1e")):
        (tmp_path / "blobs" / blob).write_text(f"{language}\n")
        (snapshot / f"dev-{language}.tsv").symlink_to(tmp_path / "blobs" / blob)
    en, de = (DataSpec(str(snapshot / f"dev-{code}.tsv")) for code in ("en", "de"))
    assert same_pattern(en, lookup("en"), de, lookup("de"))


@dataclass(frozen=True)
class Case:
    id: str
    edit: Callable[[dict, Workspace], object]  # changes the family's POS grid (sources [qaa], targets [qab, qac])
    fragments: tuple[str, ...]  # in the one error line; none: `validate` passes


def _pos(**data) -> Callable[[dict, Workspace], None]:
    """An edit setting keys of the POS task; in text, `{root}` is the family's folder and `{tmp}` the test's."""

    def edit(raw: dict, ws: Workspace) -> None:
        def fill(value):
            if isinstance(value, dict):
                return {key: fill(item) for key, item in value.items()}
            if isinstance(value, str):
                return value.replace("{root}", str(ws.family.root)).replace("{tmp}", str(ws.root))
            return value

        raw["tasks"]["pos"].update(fill(data))

    return edit


def _all_targets(edit: Callable[[dict, Workspace], None]) -> Callable[[dict, Workspace], None]:
    """`edit`, with the source among the targets (its test data may then be its own training file)."""

    def both(raw: dict, ws: Workspace) -> None:
        edit(raw, ws)
        raw["targets"] = [raw["sources"][0], *raw["targets"]]

    return both


def _named_files(raw: dict, ws: Workspace) -> None:
    """English training and German test files named by ISO 639-3 code and by name (copies of the family's)."""
    for name, language in (("dev.eng.conllu", "qaa"), ("dev.German.conllu", "qab")):
        shutil.copy(ws.family.root / "pos" / f"{language}-dev.conllu", ws.root / name)
    raw.update(sources=["en"], targets=["de"])
    _pos(
        train="{tmp}/dev.eng.conllu[0:20]",
        dev="{root}/pos/qaa-train.conllu",
        test={"de": "{tmp}/dev.German.conllu[15:]"},
    )(raw, ws)


def _linked(link: Callable[[Path, Path], None]) -> Callable[[dict, Workspace], None]:
    """Test files that are links (`link(target, path)`) in the test's folder to the family's dev files, while
    training reads dev rows 0–19 by their own path."""

    def edit(raw: dict, ws: Workspace) -> None:
        (ws.root / "linked").mkdir()
        for language in ws.family.languages:
            link(ws.family.root / "pos" / f"{language.code}-dev.conllu", ws.root / "linked" / f"{language.code}.conllu")
        _pos(train=DEV + "[0:20]", dev="{root}/pos/{lang}-train.conllu", test="{tmp}/linked/{lang}.conllu")(raw, ws)

    return _all_targets(edit)


def _copied(raw: dict, ws: Workspace) -> None:
    """Test files in the test's folder that are byte copies of the family's dev files, which training reads."""
    (ws.root / "copy").mkdir()
    for language in ws.family.languages:
        shutil.copy(
            ws.family.root / "pos" / f"{language.code}-dev.conllu", ws.root / "copy" / f"{language.code}.conllu"
        )
    _pos(train=DEV + "[0:20]", dev="{root}/pos/{lang}-train.conllu", test="{tmp}/copy/{lang}.conllu")(raw, ws)


def _copy_trained(raw: dict, ws: Workspace) -> None:
    """Training on a byte copy of the source's dev file under a name of its own (no language in it), tested on
    the family's dev files, the copy's translations."""
    shutil.copy(ws.family.root / "pos" / "qaa-dev.conllu", ws.root / "train-copy.conllu")
    _pos(train="{tmp}/train-copy.conllu[0:20]", dev="{root}/pos/{lang}-train.conllu", test=DEV)(raw, ws)


def _pawsx(train: str, dev: str, test: str) -> Callable[[dict, Workspace], None]:
    """A PAWS-X grid on Hub specs (nothing is fetched: the check reads slices only)."""

    def edit(raw: dict, ws: Workspace) -> None:
        raw.update(sources=["en"], targets=["de", "fr"])
        raw["tasks"] = {"pawsx": {"train": train, "dev": dev, "test": test}}

    return edit


def _parallel(source: str, target: str, test: str) -> Callable[[dict, Workspace], None]:
    """A grid with a TLM method whose parallel text is `source` and `target` (family files), testing POS on `test`:
    TLM pretrains the encoder on the parallel sentences, whichever task then scores it."""

    def edit(raw: dict, ws: Workspace) -> None:
        root = str(ws.family.root)
        raw.update(methods=["baseline", "tlm"], tlm={"steps": 2, "batch_size": 2})
        raw["parallel"] = {"source": source.replace("{root}", root), "target": target.replace("{root}", root)}
        _pos(dev="{root}/pos/{lang}-test.conllu", test=test)(raw, ws)

    return edit


DEV = "{root}/pos/{lang}-dev.conllu"  # 30 sentences, the same in every language
CASES = [
    Case(  # the parallel text's target side is the test file itself; its source side their translations
        "parallel-text-is-test-data",
        _parallel("{root}/pos/{src}-dev.conllu[0:20]", DEV + "[0:20]", DEV + "[10:30]"),
        (
            "tasks.pos: test qab ",
            "/pos/qab-dev.conllu[10:30] overlaps parallel text ",
            "/pos/qaa-dev.conllu[0:20] (rows 10–19 are translations of the parallel text rows; also for qac)",
            "e.g. test: …[20:30]",
        ),
    ),
    Case(
        "parallel-text-held-out-passes",
        _parallel("{root}/pos/{src}-dev.conllu[0:20]", DEV + "[0:20]", DEV + "[20:]"),
        (),
    ),
    Case(
        "dev-inside-train",
        _pos(train="{root}/pos/{lang}-train.conllu[0:100]", dev="{root}/pos/{lang}-train.conllu[90:110]"),
        (
            "tasks.pos: dev qaa ",
            "/pos/qaa-train.conllu[90:110] overlaps training ",
            "(rows 90–99 are training rows)",
            "e.g. dev: …[100:110]",
            "tasks.pos.allow_overlap: true",
        ),
    ),
    Case(
        "test-in-training-file",
        _all_targets(
            _pos(
                train="{root}/pos/{lang}-train.conllu[0:100]",
                test={
                    "qaa": "{root}/pos/qaa-train.conllu[50:]",
                    "qab": "{root}/pos/qab-test.conllu",
                    "qac": "{root}/pos/qac-test.conllu",
                },
            )
        ),
        (
            "tasks.pos: test qaa ",
            "/pos/qaa-train.conllu[50:120] overlaps training ",  # the open end: 120 read
            "/pos/qaa-train.conllu[0:100] (rows 50–99 are training rows)",
        ),
    ),
    Case(
        "dev-and-test-one-file",
        _all_targets(_pos(dev=DEV + "[0:20]", test=DEV + "[10:30]")),
        ("test qaa ", "overlaps dev ", "(rows 10–19 are dev rows; also for qab, qac)"),
    ),
    Case(
        "translations-by-pattern",
        _pos(train=DEV + "[0:20]", dev=DEV + "[20:30]", test=DEV),
        (
            "test qab ",
            "/pos/qab-dev.conllu[0:30] overlaps training ",
            "/pos/qaa-dev.conllu[0:20]",
            "(rows 0–19 are translations of the training rows; also for qac)",
        ),
    ),
    Case(
        "translations-by-mapping",
        _pos(
            train="{root}/pos/qaa-dev.conllu[0:20]",
            dev="{root}/pos/qaa-train.conllu",
            test={"qab": "{root}/pos/qab-dev.conllu[10:30]", "qac": "{root}/pos/qac-test.conllu"},
        ),
        ("test qab ", "(rows 10–19 are translations of the training rows)"),
    ),
    Case(
        "translations-by-iso3-and-name",
        _named_files,
        ("test de dev.German.conllu[15:30] overlaps training dev.eng.conllu[0:20] (rows 15–19 are translations",),
    ),
    Case(
        "hub-same-split",
        _pawsx(f"{PAWSX}@en:validation[0:800]", f"{PAWSX}@en:validation[800:1000]", f"{PAWSX}@{{lang}}:validation"),
        (
            f"tasks.pawsx: test de {PAWSX}@de:validation overlaps training {PAWSX}@en:validation[0:800] "
            "(rows 0–799 are translations of the training rows; also for fr); hold them out, e.g. test: …[800:],",
        ),
    ),
    Case(
        "hub-dev-inside-train",
        _pawsx(f"{PAWSX}@en:train[0:1000]", f"{PAWSX}@en:train[500:600]", f"{PAWSX}@{{lang}}:test"),
        (
            f"tasks.pawsx: dev en {PAWSX}@en:train[500:600] overlaps training {PAWSX}@en:train[0:1000] "
            "(rows 500–599 are training rows)",
        ),
    ),
    Case(  # the same files by another path: compared as the files they name, not as written
        "translations-through-dotdot",
        _pos(train=DEV + "[0:20]", dev=DEV + "[20:30]", test="{root}/pos/../pos/{lang}-dev.conllu"),
        ("test qab ", "(rows 0–19 are translations of the training rows; also for qac)"),
    ),
    Case(
        "test-through-a-symbolic-link",
        _linked(lambda target, path: path.symlink_to(target)),
        ("test qaa linked/qaa.conllu[0:30] overlaps training ", "(rows 0–19 are training rows; also for qab"),
    ),
    Case(  # a hard link names the same file; its translations are the links beside it, as their pattern says
        "test-through-a-hard-link",
        _linked(lambda target, path: path.hardlink_to(target)),
        ("test qaa linked/qaa.conllu[0:30] overlaps training ", "(rows 0–19 are training rows; also for qab, qac)"),
    ),
    Case(  # training reads a copy of English dev under another name: dev-{lang}'s rows translate its rows
        "training-on-a-copy-under-another-name",
        _copy_trained,
        ("test qab ", "pos/qab-dev.conllu[0:30] overlaps training ", "translations of the training rows; also for qac"),
    ),
    Case(  # names are not all: a copy of the training file under another name holds the same rows
        "test-a-copy-of-the-training-file",
        _all_targets(_copied),
        ("test qaa ", "copy/qaa.conllu[0:30] overlaps training ", "(rows 0–19 are training rows; also for qab, qac)"),
    ),
    Case("different-files-pass", lambda raw, ws: None, ()),
    Case("held-out-slices-pass", _pos(train=DEV + "[0:20]", dev=DEV + "[20:25]", test=DEV + "[25:]"), ()),
    Case("allow-overlap-passes", _pos(train=DEV + "[0:20]", dev=DEV, test=DEV, allow_overlap=True), ()),
    Case("hub-other-splits-pass", _pawsx(f"{PAWSX}@en:train", f"{PAWSX}@en:validation", f"{PAWSX}@{{lang}}:test"), ()),
]


# a refused config under both commands; one that passes under `validate` (the other tests run such configs)
RUNS = [(case, command) for case in CASES for command in (("validate", "run") if case.fragments else ("validate",))]


@pytest.mark.parametrize("case, command", RUNS, ids=[f"{case.id}-{command}" for case, command in RUNS])
def test_leakage(case: Case, command: str, workspace: Workspace) -> None:
    workspace.fill_store()
    result = run_cli(command, workspace.config(lambda raw: case.edit(raw, workspace)))
    if not case.fragments:
        assert result.exit_code == 0, result.output
        assert "overlaps" not in result.output
        return
    assert result.exit_code == 2, result.output
    message = one_error_line(result)
    for fragment in case.fragments:
        assert fragment in message, message
    if command == "run":
        assert message.startswith("Error:") and "\n" not in message
    assert workspace.rows() == STORED  # nothing ran


def _real(workspace: Workspace, shared_data: Path, tasks: dict, targets: list[str]) -> str:
    """A config on the real data, with the tiny model and the workspace's store."""
    raw = {
        "name": "real",
        "models": [str(workspace.model)],
        "sources": ["en"],
        "targets": targets,
        "output": str(workspace.root / "out"),
        "tasks": tasks,
    }
    return str(write_config(workspace.root / "real.yaml", raw))


def _refused(command: str, config: str, workspace: Workspace) -> str:
    """The one line `command` refuses `config` with, the workspace's store filled first (to show nothing ran)."""
    workspace.fill_store()
    result = run_cli(command, config)
    assert result.exit_code == 2, result.output
    return one_error_line(result)


@pytest.mark.parametrize("command", ["validate", "run"])
def test_real_xnli_dev_trained_and_tested_is_refused(command: str, workspace: Workspace, shared_data: Path) -> None:
    xnli = shared_data / "xnli"
    config = _real(
        workspace,
        shared_data,
        {
            "xnli": {
                "train": f"{xnli}/dev-en.tsv[0:801]",  # 267 premises, each in three rows in a row
                "dev": f"{xnli}/dev-en.tsv[801:1002]",
                "test": f"{xnli}/dev-{{lang}}.tsv",
            }
        },
        ["de", "en"],
    )
    message = _refused(command, config, workspace)
    assert (
        f"tasks.xnli: test de {xnli}/dev-de.tsv[0:2490] overlaps training {xnli}/dev-en.tsv[0:801] "
        "(rows 0–800 are translations of the training rows; also for en)"
    ) in message
    assert workspace.rows() == STORED


def test_xnli_rows_sharing_a_premise_with_training_rows_are_refused(workspace: Workspace, shared_data: Path) -> None:
    """XNLI holds each premise in three rows in a row: dev row 800 has the premise of training rows 798-799 and
    passed; a premise now counts as a passage, as a QA paragraph does."""
    xnli = shared_data / "xnli"
    tasks = {"xnli": {"train": f"{xnli}/dev-en.tsv[0:800]", "dev": f"{xnli}/dev-en.tsv[800:1000]"}}
    tasks["xnli"]["test"] = f"{xnli}/dev-{{lang}}.tsv[1002:]"
    result = run_cli("validate", _real(workspace, shared_data, tasks, ["de"]))
    assert result.exit_code == 2, result.output
    message = one_error_line(result)
    assert "dev en " in message and "(rows 800–800 share passages with the training rows)" in message
    assert "e.g. dev: …[801:1000]" in message


@pytest.mark.parametrize("command", ["validate", "run"])
def test_real_pawsx_rows_holding_a_training_sentence_far_apart_are_refused(
    command: str, workspace: Workspace, shared_data: Path
) -> None:
    """PAWS-X reuses a sentence in pairs far apart: 352 of dev rows 1000-1999 hold a sentence of rows 0-799 (in
    every language, as translations), and a held-out slice passed."""
    pawsx = shared_data / "pawsx"
    tasks = {"pawsx": {"train": f"{pawsx}/dev-en.tsv[0:800]", "dev": f"{pawsx}/dev-en.tsv[800:1000]"}}
    tasks["pawsx"]["test"] = f"{pawsx}/dev-{{lang}}.tsv[1000:2000]"
    message = _refused(command, _real(workspace, shared_data, tasks, ["de", "fr"]), workspace)
    assert (
        f"tasks.pawsx: dev en {pawsx}/dev-en.tsv[800:1000] overlaps training {pawsx}/dev-en.tsv[0:800] (62 rows "
        "from 802 to 999 share passages with the training rows); hold them out, or set tasks.pawsx.allow_overlap"
    ) in message
    assert workspace.rows() == STORED


def _pairs(path: Path, rows: list[tuple[str, str]]) -> None:
    path.write_text("".join(f"{first}\t{second}\t1\n" for first, second in rows))


@pytest.mark.parametrize(
    "test, refused",
    [
        ("[4:8]", "(2 rows from 5 to 7 are translations of rows sharing passages with the training rows)"),
        ("[3:8]", "(3 rows from 3 to 7 are translations of the training rows or share their passages)"),
        ("[6:8]", "(rows 7–7 are translations of rows sharing passages with the training rows); hold them out, or"),
        (
            "[4:7]",
            "(rows 5–5 are translations of rows sharing passages with the training rows); hold them out, e.g. "
            "test: …[6:7], or",
        ),
        ("[8:10]", None),
    ],
)
def test_pair_rows_holding_a_sentence_training_read_are_refused(tmp_path: Path, test: str, refused: str | None) -> None:
    """Row j of a translated pair file is the translation of row j of the source's: its sentences are looked up
    there, wherever in the file training read them; the placeholder `NS` is no sentence."""
    english = [(f"s{row}", f"t{row}") for row in range(10)]
    english[5] = ("s1", "u5")  # shares a first sentence with training row 1
    english[7] = ("v7", "t2")  # and a second one with row 2
    english[9] = ("NS", "w9")  # a placeholder: training row 3 holds one too
    english[3] = ("NS", "t3")
    _pairs(tmp_path / "dev-en.tsv", english)
    _pairs(tmp_path / "dev-de.tsv", [(f"de {first}", f"de {second}") for first, second in english])
    config = TaskConfig(train="dev-en.tsv[0:4]", dev="other.tsv", test=f"dev-{{lang}}.tsv{test}")
    found = leakage_problems("pawsx", build_task("pawsx", config, tmp_path), [lookup("en")], [lookup("de")])
    if refused is None:
        assert found == []
        return
    assert len(found) == 1 and refused in found[0], found


XQUAD_EXAMPLE = REPO_ROOT / "examples" / "xquad-e5.yaml"


@pytest.mark.parametrize(
    "test, command, refused",
    [
        ("xquad.{lang}.json[632:1190]", "validate", False),  # as shipped
        ("xquad.{lang}.json[0:1190]", "validate", True),
        ("xquad.{lang}.json[0:1190]", "run", True),
    ],
)
def test_xquad_example(test: str, command: str, refused: bool, workspace: Workspace, shared_data: Path) -> None:
    workspace.fill_store()
    result = run_cli(
        command,
        XQUAD_EXAMPLE,
        "--set",
        f"models=[{workspace.model}]",
        "--set",
        f"output={workspace.root / 'out'}",
        "--set",
        f"tasks.xquad.test=../../shared/data/xquad/{test}",
    )
    if not refused:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    assert (
        "tasks.xquad: test ar ../../shared/data/xquad/xquad.ar.json[0:1190] overlaps training "
        "../../shared/data/xquad/xquad.en.json[0:536] (rows 0–535 are translations of the training rows; "
        "also for de, en, es, hi, ru, zh); hold them out, e.g. test: …[536:1190]"
    ) in one_error_line(result)
    assert workspace.rows() == STORED


def _shipped(tmp_path: Path, small_family, tiny_model) -> list[Path]:
    """Every example config and the two the quickstart writes (the real one over ../shared/data)."""
    quickstart = write_config(
        tmp_path / "quickstart.yaml",
        quickstart_config(small_family.root, tiny_model, [language.code for language in small_family.languages]),
    )
    real = write_config(
        tmp_path / "quickstart-real.yaml",
        real_quickstart_config(str(REPO_ROOT.parent / "shared" / "data"), str(tiny_model)),
    )
    return [*sorted((REPO_ROOT / "examples").glob("*.yaml")), quickstart, real]


def test_no_shipped_config_is_refused(tmp_path: Path, small_family, tiny_model) -> None:
    """The check itself on every task of every shipped config (their slices decide it: no file is read)."""
    checked = 0
    for path in _shipped(tmp_path, small_family, tiny_model):
        experiment, _ = load_experiment(path)
        for name, config in experiment.tasks.items():
            task = build_task(name, experiment.tasks[name], experiment.base_dir)
            targets = [lookup(code) for code in config.targets or experiment.targets]
            assert leakage_problems(name, task, [lookup(code) for code in experiment.sources], targets) == [], path
            checked += task.needs_training
    assert checked >= 8


def _squad(path: Path, language: str, paragraphs: int = 3, questions: int = 2) -> None:
    """A SQuAD v1.1 file of `paragraphs` paragraphs with `questions` questions each, in one 'language'."""
    data = [
        {
            "title": f"article {p}",
            "paragraphs": [
                {
                    "context": f"{language} paragraph {p} says {p}.",
                    "qas": [
                        {
                            "id": f"{p}-{q}",
                            "question": f"{language} question {q}?",
                            "answers": [{"text": f"{p}", "answer_start": len(f"{language} paragraph {p} says ")}],
                        }
                        for q in range(questions)
                    ],
                }
            ],
        }
        for p in range(paragraphs)
    ]
    path.write_text(json.dumps({"version": "1.1", "data": data}))


@pytest.mark.parametrize(
    "train, test, refused",
    [
        (
            "qa.en.json[0:3]",
            "qa.{lang}.json[3:6]",
            "rows 3–3 are translations of rows sharing passages with the training rows",
        ),
        ("qa.en.json[0:3]", "qa.{lang}.json[4:6]", None),  # after the paragraph training read half of
        ("qa.en.json[3:6]", "qa.{lang}.json[0:3]", "rows 2–2 are translations of rows sharing passages with"),
        ("qa.en.json[0:4]", "qa.{lang}.json[4:6]", None),  # a paragraph's end
    ],
)
def test_qa_slices_that_cut_a_paragraph_hold_out_its_other_questions(
    tmp_path: Path, train: str, test: str, refused: str | None
) -> None:
    """XQuAD's questions on one paragraph stand in a row and are translated with it: a test question on a
    paragraph training read (in another language) is refused, and the hint holds out the whole paragraph."""
    for language in ("en", "de"):
        _squad(tmp_path / f"qa.{language}.json", language)
    _squad(tmp_path / "held-out-dev.json", "en", questions=3)  # other data: no copy nor translation of the others
    task = build_task("xquad", TaskConfig(train=train, dev="held-out-dev.json", test=test), tmp_path)
    found = leakage_problems("xquad", task, [lookup("en")], [lookup("de")])
    if refused is None:
        assert found == []
        return
    assert len(found) == 1 and refused in found[0]
    if train == "qa.en.json[0:3]":
        assert "hold them out, e.g. test: …[4:6]" in found[0]


def test_rows_of_a_task_allowed_to_overlap_say_so(workspace: Workspace) -> None:
    """`allow_overlap: true` let dev and test rows be training rows without a trace in the rows, the exports or
    the table; each row now says so, and the results name its method apart, as they do centred rows."""
    from mbert_eval.store.results import ResultStore

    edit = _pos(train=DEV + "[0:20]", dev=DEV, test=DEV, allow_overlap=True)
    result = run_cli("run", workspace.config(lambda raw: edit(raw, workspace)), "--no-report")
    assert result.exit_code == 0, result.output
    rows = list(ResultStore(workspace.store).rows())
    assert rows and all(row.extra.get("allow_overlap") is True for row in rows)
    assert "baseline (overlap allowed)" in run_cli("results", "--store", str(workspace.store)).output


def test_bucc_refuses_a_threshold_chosen_on_its_test_pairs(tmp_path: Path) -> None:
    """BUCC trains nothing but picks its margin threshold on each target's dev pairs: dev and test naming one
    file passed, and the stored F1 was tuned on the test gold."""
    bucc = "bucc/{lang}-en.test.{lang}"
    task = build_task("bucc", TaskConfig(dev=bucc, test=bucc), tmp_path)
    [problem] = leakage_problems("bucc", task, [lookup("en")], [lookup("de")])
    assert problem.startswith("tasks.bucc: test de bucc/de-en.test.de overlaps dev bucc/de-en.test.de")
    apart = build_task("bucc", TaskConfig(dev="bucc/{lang}-en.dev.{lang}", test=bucc), tmp_path)
    assert leakage_problems("bucc", apart, [lookup("en")], [lookup("de")]) == []


@pytest.mark.parametrize(
    "data, refused",
    [
        ({"train": "dev-en.tsv[0:800]", "test": "dev-{lang}.tsv[1002:]"}, ["dev"]),  # dev: XNLI's Hub validation
        ({"test": "dev-{lang}.tsv"}, ["train", "dev"]),
        ({"train": "a.tsv", "dev": "b.tsv", "test": "c-{lang}.tsv"}, []),
        ({}, []),  # all Hub: compared by name
        ({"test": "hub:facebook/xnli@{lang}:test"}, []),
        ({"train": "dev-en.tsv[0:800]", "test": "dev-{lang}.tsv[1002:]", "allow_overlap": True}, []),
    ],
)
def test_a_hub_default_beside_local_files_is_refused(data: dict, refused: list[str], tmp_path: Path) -> None:
    """XNLI's local `dev-{lang}.tsv` files are its Hub validation split, the default dev: left to it, epochs were
    chosen on the test rows' English versions, and no check could see it (the Hub is not compared with files)."""
    found = hub_default_problems("xnli", build_task("xnli", TaskConfig(**data), tmp_path))
    assert [line.split(":")[0] for line in found] == [f"tasks.xnli.{key}" for key in refused]
    if refused == ["dev"]:
        assert found[0].startswith(
            "tasks.xnli.dev: left to its Hub default (hub:facebook/xnli@en:validation) beside local train files"
        )
