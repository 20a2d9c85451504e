"""Centering for retrieval and mining (Libovický et al. 2020): each language's mean vector subtracted, the rows
saying so, and the keys of cells that do not set it unchanged."""

import pytest
import torch

from mbert_eval.config.loading import load_experiment
from mbert_eval.grid.resolve import resolve
from mbert_eval.grid.run import run_experiment
from mbert_eval.models.encoders import load_model, load_tokenizer
from mbert_eval.store.results import ResultStore
from mbert_eval.tasks import get_task
from mbert_eval.tasks.base import Prepared
from tests.helpers import family_experiment, write_config


def tatoeba_config(family, model, output: str = "out", **options) -> dict:
    base, root = family.languages[0].code, family.root
    raw = family_experiment(family, model, output=output)
    raw["tasks"] = {
        "tatoeba": {
            "test": f"{root}/parallel/{base}-{{lang}}.{{lang}}[0:30]",
            "pivot": f"{root}/parallel/{base}-{{lang}}.{base}",
            **options,
        }
    }
    return raw


def test_centred_sentence_vectors_have_zero_mean_and_the_same_spread(tiny_model):
    prepared = Prepared(load_model(str(tiny_model)), load_tokenizer(str(tiny_model)))
    sentences = [f"zi widbehi fowew {'vi ' * i}nunun ." for i in range(10)]
    plain = get_task("tatoeba").embed(prepared, sentences, torch.device("cpu"))
    centred = get_task("tatoeba", center=True).embed(prepared, sentences, torch.device("cpu"))
    assert centred.mean(1).abs().max() < 1e-5
    assert torch.allclose(centred, plain - plain.mean(1, keepdim=True), atol=1e-5)


def test_center_is_recorded_and_keys_change_only_where_set(tmp_path, small_family, tiny_model):
    keys = {}
    for label, options in (("plain", {}), ("unset", {"center": None}), ("centred", {"center": True})):
        experiment, problems = load_experiment(
            write_config(
                tmp_path / f"{label}.yaml", tatoeba_config(small_family, tiny_model, output=f"out-{label}", **options)
            )
        )
        assert problems == []
        keys[label] = [cell.key for cell in resolve(experiment).cells]
    assert keys["plain"] == keys["unset"] != keys["centred"]
    for label, centred in (("plain", None), ("centred", True)):
        experiment, _ = load_experiment(tmp_path / f"{label}.yaml")
        run_experiment(experiment)
        rows = ResultStore(experiment.store_path).rows()
        assert rows and all(row.extra.get("centered") is centred for row in rows)


@pytest.mark.parametrize("name", ["pos_probe", "similarity", "language_identity"])
def test_tasks_without_the_option_refuse_it(name):
    from mbert_eval.config.experiment import Experiment, TaskConfig
    from mbert_eval.grid.resolve import validate

    experiment = Experiment(models=["m"], tasks={name: TaskConfig(center=True)}, targets=["de"])
    assert any(
        f"task '{name}' has no option 'center'" in problem for problem in validate(experiment, check_files=False)
    )


def test_a_model_with_nan_weights_gets_no_score_but_one_line(tmp_path, small_family, tiny_model):
    """A model whose weights hold NaN (a damaged file whose header reads) was scored by Tatoeba: NaN similarities
    fall to argmax's index 0, and 2.0 % was stored with an interval. Its hidden states are refused, as are the
    aligner's (the alignment task, the align step's links), in one line; nothing is stored."""
    import shutil

    from mbert_eval.aligner.word_aligner import WordAligner, WordAlignerConfig
    from mbert_eval.errors import UserError
    from tests.helpers import run_cli

    damaged = tmp_path / "damaged"
    shutil.copytree(tiny_model, damaged)
    model = load_model(str(damaged))
    with torch.no_grad():
        model.embeddings.word_embeddings.weight[5:].fill_(float("nan"))
    model.save_pretrained(damaged)
    config = write_config(tmp_path / "exp.yaml", tatoeba_config(small_family, damaged))
    result = run_cli("run", config, "--no-report")
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "its hidden states hold NaN or infinite values, so no score is computed from them" in result.stderr
    assert (
        not (tmp_path / "out" / "results.sqlite").exists()
        or ResultStore(tmp_path / "out" / "results.sqlite").rows() == []
    )
    aligner = WordAligner(WordAlignerConfig(model=str(damaged), layer=1, methods=("argmax",), device="cpu"))
    with pytest.raises(UserError, match="hidden states hold NaN"):
        aligner.align([(["zi", "widbehi"], ["zo", "wad"])])
