"""Experiment configs: YAML loading, defaults, overrides, key-path problems."""

from pathlib import Path

import pytest

from mbert_eval.config.experiment import Experiment
from mbert_eval.config.loading import apply_settings, build_experiment, load_experiment, parse_override
from mbert_eval.data.spec import DataSpec
from mbert_eval.errors import UserError
from mbert_eval.languages import lookup


def test_defaults_follow_xtreme():
    experiment = Experiment()
    assert experiment.training.learning_rate == 2e-5
    assert experiment.training.max_length == 128
    assert experiment.training.batch_size == 32
    assert experiment.sources == ["en"] and [m.name for m in experiment.methods] == ["baseline"]


def test_yaml_loading_and_types(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("models: m\ntasks: [pos, xnli]\ntargets: [de]\ntraining:\n  learning_rate: 3e-5\n")
    experiment, problems = load_experiment(path)
    assert problems == []
    assert experiment.models == ["m"]  # a single value where a list is expected
    assert set(experiment.tasks) == {"pos", "xnli"}
    assert experiment.training.learning_rate == 3e-5  # YAML reads 3e-5 as a string
    assert experiment.base_dir == tmp_path
    assert experiment.store_path == tmp_path / "runs" / "experiment" / "results.sqlite"


def test_problems_carry_key_paths(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(
        "seeds: [1, x]\ntraining:\n  batchsize: 8\n  epochs: many\n  activation_checkpointing: maybe\ntasks:\n  pos:\n    trian: f\n"
    )
    _, problems = load_experiment(path)
    assert "seeds[1]: expected an integer, got 'x'" in problems
    assert "training.batchsize: unknown key; did you mean 'batch_size'?" in problems
    assert "training.epochs: expected an integer, got 'many'" in problems
    assert "training.activation_checkpointing: expected true or false, got 'maybe'" in problems
    assert "tasks.pos.trian: unknown key; did you mean 'train'?" in problems


def test_overrides():
    settings = [parse_override(item) for item in ["training.epochs=5", "seeds=[1, 2]", "name=x"]]
    raw = apply_settings({"training": {"epochs": 3}}, settings)
    assert raw == {"training": {"epochs": 5}, "seeds": [1, 2], "name": "x"}
    with pytest.raises(UserError, match="key.path=value"):
        parse_override("training.epochs")
    with pytest.raises(UserError, match="override 'name.first': name is not a mapping"):
        apply_settings({"name": "x"}, [(["name", "first"], 1)])


def test_bad_yaml_names_the_line(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("models: [a\ntasks: {}\n")
    with pytest.raises(UserError, match=r"exp.yaml:\d+: not valid YAML"):
        load_experiment(path)


def test_config_hash_changes_with_settings():
    a, b = Experiment(models=["m"]), Experiment(models=["m"])
    assert a.config_hash() == b.config_hash()
    b.training.learning_rate = 1e-4
    assert a.config_hash() != b.config_hash()


def test_config_hash_is_where_cells_run_blind():
    """A grid rerun on Ray (or with other `ray:` settings) is the same config: the report does not call its rows
    mixed. Hashes recorded before (every config at the default executor) hold: the default config's is fixed."""
    local = Experiment(models=["m"])
    on_ray = Experiment(models=["m"], executor="ray")
    on_ray.ray.num_cpus = 4
    assert local.config_hash() == on_ray.config_hash()
    assert Experiment().config_hash() == "9a6785acae4f3476"  # as before executor and ray were hashed at default


def test_a_nested_field_added_later_is_hashed_only_when_set():
    """`tlm.head_steps` came after config hashes were recorded: at its default the hash is as before it existed
    (the default config's, above); set, it is another config."""
    warmed = Experiment()
    warmed.tlm.head_steps = 50
    assert warmed.config_hash() != Experiment().config_hash() == "9a6785acae4f3476"
    stepped = Experiment()
    stepped.training.eval_steps = 500  # so is `training.eval_steps`
    assert stepped.config_hash() != Experiment().config_hash()


def test_data_spec_patterns_and_slices(tmp_path):
    german = lookup("de")
    spec = DataSpec.parse("ud/{lang}_pud.conllu[500:1000]", german, tmp_path)
    assert spec.location == str(tmp_path / "ud/de_pud.conllu") and (spec.start, spec.stop) == (500, 1000)
    assert DataSpec.parse("tatoeba.{iso3}-eng.{iso3}", german).location == "tatoeba.deu-eng.deu"
    hub = DataSpec.parse("hub:google/xtreme@udpos.{name}:test", german, tmp_path)
    assert hub.is_hub and hub.location == "hub:google/xtreme@udpos.German:test"
    assert DataSpec.parse("f.tsv[:20]").stop == 20 and DataSpec.parse("f.tsv[:20]").start is None
    assert str(Path(DataSpec.parse("/abs/f.tsv", german, tmp_path).location)) == "/abs/f.tsv"


def test_model_paths_are_relative_to_the_config(tmp_path):
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    path = tmp_path / "sub" / "exp.yaml"
    path.parent.mkdir()
    path.write_text("models: [../models/tiny, bert-base-multilingual-cased, xlm-roberta-base]\n")
    experiment, _ = load_experiment(path)
    assert experiment.models == [str(tmp_path / "models" / "tiny"), "bert-base-multilingual-cased", "xlm-roberta-base"]


def test_method_forms():
    from mbert_eval.config.typed import _build

    problems: list[str] = []
    experiment = _build(
        Experiment, {"methods": ["tlm+align", {"name": "freeze", "freeze": 3, "cache_frozen": True}]}, "", problems
    )
    assert problems == []
    first, second = experiment.methods
    assert first.chain == ["tlm", "align"] and second.chain == [] and second.freeze == 3 and second.cache_frozen


def test_baseline_must_name_a_method_of_the_grid(tmp_path):
    from mbert_eval.grid.resolve import validate

    path = tmp_path / "exp.yaml"
    path.write_text("models: m\ntasks: [xnli]\ntargets: [de]\nmethods: [baseline, freeze3]\nbaseline: freeze4\n")
    experiment, problems = load_experiment(path)
    assert problems == [] and experiment.baseline == "freeze4"
    assert validate(experiment, check_files=False) == [
        "baseline: unknown method 'freeze4' (methods: baseline, freeze3)"
    ]
    experiment.baseline = "freeze3"
    assert validate(experiment, check_files=False) == []


def test_overrides_read_path_objects_and_tuples_as_the_config_does(tmp_path):
    """`mbert_eval.run(config, output=Path(...), seeds=(1,))`: an override's path object or tuple is read as the
    same value inside the config mapping is (they were refused: "expected a string, got PosixPath(...)")."""
    from mbert_eval.config.loading import build_experiment

    experiment, problems = build_experiment(
        {"name": "x"}, tmp_path, [(["output"], tmp_path / "out"), (["seeds"], (1, 2)), (["sources"], ("en",))]
    )
    assert problems == []
    assert (experiment.output, experiment.seeds, experiment.sources) == (str(tmp_path / "out"), [1, 2], ["en"])


@pytest.mark.parametrize("tasks", [{"pos": None}, ["pos"]])
def test_an_override_fills_a_task_written_without_settings(tasks) -> None:
    """`pos:` (empty) and `tasks: [pos]` read as a task without settings; an override could not set one of them
    ("pos is not a mapping")."""
    experiment, problems = build_experiment(
        {"tasks": tasks}, Path("/"), [parse_override("tasks.pos.train=/data/en-train.conllu")]
    )
    assert problems == [] and experiment.tasks["pos"].train == "/data/en-train.conllu"


def test_per_language_data_is_keyed_by_the_language_tables_codes() -> None:
    """A mapping of data keyed `deu:` or `German:` is the grid's `de` (it was 'no test data given for de'); an
    unknown key and one language keyed twice are problems (both passed, the second spelling silently unused)."""
    experiment, problems = build_experiment(
        {
            "tasks": {"pos": {"test": {"German": "/de.conllu", "FRA": "/fr.conllu"}}},
            "parallel": {"source": {"deu": "/p"}},
        },
        Path("/"),
    )
    assert problems == []
    assert experiment.tasks["pos"].test == {"de": "/de.conllu", "fr": "/fr.conllu"}
    assert experiment.parallel.source == {"de": "/p"}
    _, problems = build_experiment({"tasks": {"pos": {"gold": {"de": "/a", "deu": "/b", "xx": "/c"}}}}, Path("/"))
    assert problems[0] == "tasks.pos.gold.deu: language de is keyed twice (also as 'de')"
    assert problems[1].startswith("tasks.pos.gold.xx: unknown language 'xx'")


def test_an_override_changes_one_place_of_a_section_shared_by_an_alias(tmp_path):
    """`tlm: &steps {...}` and `align: *steps` are one mapping to YAML: `--set tlm.learning_rate=1e-3` changed
    align's too (its cells trained at it), and `--set tlm.steps=2` gave align an unknown key."""
    path = tmp_path / "exp.yaml"
    path.write_text("models: m\ntasks: [pos]\ntlm: &steps {batch_size: 4, learning_rate: 5.0e-5}\nalign: *steps\n")
    experiment, problems = load_experiment(path, ["tlm.learning_rate=1e-3", "tlm.steps=2"])
    assert problems == []
    assert (experiment.tlm.learning_rate, experiment.tlm.steps) == (1e-3, 2)
    assert (experiment.align.learning_rate, experiment.align.batch_size) == (5e-5, 4)
    shared = {"batch_size": 4}
    experiment, problems = build_experiment({"tlm": shared, "align": shared}, tmp_path, [(["tlm", "steps"], 3)])
    assert problems == [] and experiment.tlm.steps == 3 and shared == {"batch_size": 4}


def test_numpy_integers_from_the_python_api_are_integers(tmp_path):
    import numpy as np

    experiment, problems = build_experiment({"seeds": [np.int64(3)], "limit": np.int64(5)}, tmp_path)
    assert problems == [] and experiment.seeds == [3] and experiment.limit == 5
    assert type(experiment.seeds[0]) is int


def test_an_override_indexes_a_list_by_position() -> None:
    """`--set models.0=x` turned `models:` into a mapping of its names (what `tasks: [pos]` stands for) and the
    config was then refused as "models: expected a list, got {...}"; an index names an entry of a list, and one
    past its end, or a name where a list of mappings is, is refused naming the list."""
    config = {"models": ["a", "b"], "methods": [{"name": "baseline"}, {"name": "f", "freeze": 2}]}
    settings = [parse_override(item) for item in ["models.1=c", "methods.1.freeze=4", "models.-2=z"]]
    raw = apply_settings(config, settings)
    assert raw["models"] == ["z", "c"] and raw["methods"][1] == {"name": "f", "freeze": 4}
    with pytest.raises(UserError, match=r"^override 'models\.2': models has 2 entries \(index 0 to 1\)$"):
        apply_settings(config, [parse_override("models.2=x")])
    with pytest.raises(UserError, match=r"^override 'methods\.freeze': methods is a list; name an entry by its index"):
        apply_settings(config, [parse_override("methods.freeze=1")])
    with pytest.raises(UserError, match=r"^override 'seeds\.0': the config writes no seeds list to name an entry of"):
        apply_settings(config, [parse_override("seeds.0=3")])  # it was a mapping, refused as "expected a list"
    with pytest.raises(UserError, match=r"no parallel\.languages list .* --set parallel\.languages=\[\.\.\.\]$"):
        apply_settings({"parallel": {}}, [parse_override("parallel.languages.0=de")])
    experiment, problems = build_experiment(
        {"models": ["a", "b"], "tasks": ["pos"]}, Path("/"), [parse_override("models.0=x")]
    )
    assert problems == [] and experiment.models == ["x", "b"]


def test_a_null_file_in_a_language_mapping_is_named_as_null() -> None:
    """`test: {de: null}` was refused as "expected a string, got {}" (a null task is the empty mapping of its
    defaults; a null file is no file)."""
    _, problems = build_experiment({"models": ["a"], "tasks": {"pos": {"test": {"de": None}}}}, Path("/"))
    assert problems[0] == "tasks.pos.test.de: expected a string, got None"
    experiment, problems = build_experiment({"models": ["a"], "tasks": {"pos": None}}, Path("/"))
    assert problems == [] and "pos" in experiment.tasks


def test_the_readmes_annotated_config_reads_and_states_every_default() -> None:
    """The README's annotated config is read as a config is, and each setting it shows (the grid's own aside:
    name, models, tasks, languages, methods, seeds) is the default, so that it documents the defaults; a default
    changed, or a key renamed, fails here until the README says so."""
    import dataclasses

    from mbert_eval.config.experiment import Experiment
    from mbert_eval.config.yaml_reader import parse_yaml
    from tests.helpers import REPO_ROOT

    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("```yaml\nname: xnli-de-fr") + len("```yaml\n")
    raw = parse_yaml(text[start : text.index("```", start)], "README.md", lines=False)
    experiment, problems = build_experiment(raw, Path("/"))
    assert problems == []
    default = Experiment()
    grid = {"name", "models", "tasks", "sources", "targets", "methods", "baseline", "seeds"}
    shown = [key for key in raw if key not in grid]
    assert {"training", "parallel", "tlm", "align", "ray", "device", "threads", "store", "limit"} <= set(shown)
    for key in shown:
        value, expected = getattr(experiment, key), getattr(default, key)
        if dataclasses.is_dataclass(expected):
            assert set(raw[key]) <= {field.name for field in dataclasses.fields(expected)}, key
            for name in raw[key]:
                assert getattr(value, name) == getattr(expected, name), f"{key}.{name}"
        else:
            assert value == expected, key
