"""What `models.specs` reads of a model's limits before a run: the position table of the models whose positions start
after the padding index (RoBERTa's `create_position_ids_from_input_ids` in transformers, Liu et al. 2019), checked
against tiny models built in-process; the padding index those models need in config.json; and the CUDA index a
device names (`check_device`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from transformers import AutoConfig, AutoModel

from mbert_eval.errors import UserError
from mbert_eval.models.specs import check_device, device_name_problem, model_facts, position_limit
from tests.helpers import Workspace, assert_refused, run_cli

TINY = {"vocab_size": 40, "hidden_size": 24, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16}
NEEDS = {  # what some classes need to build small, or to run on input ids alone
    "xmod": {"default_language": "en_XX"},  # its adapters are picked by language
    "luke": {"entity_vocab_size": 4, "entity_emb_size": 8},  # else 500,000 entity embeddings
    "layoutlmv3": {"coordinate_size": 4, "shape_size": 4, "visual_embed": False},  # 4 * 4 + 2 * 4 = hidden_size
}
# the model types whose positions start after the padding index in transformers 5 (their modeling files' `padding_idx
# + 1`), each run here; ESM's config class has no default padding index, MPNet's embeddings ignore the config's
OFFSET_TYPES = (
    "camembert",
    "data2vec-text",
    "esm",
    "ibert",
    "layoutlmv3",
    "lilt",
    "longformer",
    "luke",
    "markuplm",
    "mpnet",
    "roberta",
    "roberta-prelayernorm",
    "xlm-roberta",
    "xlm-roberta-xl",
    "xmod",
)


def _tiny_model(model_type: str, **changes) -> torch.nn.Module:
    """A one-layer `model_type` encoder with a position table of 12 rows (and `changes` to its config)."""
    config = AutoConfig.for_model(
        model_type, max_position_embeddings=12, **TINY, **NEEDS.get(model_type, {}), **changes
    )
    return AutoModel.from_config(config).eval()


def _runs(model: torch.nn.Module, length: int) -> bool:
    """Whether `model` takes `length` tokens (none of them padding); an overrun position table raises."""
    try:
        with torch.no_grad():
            model(input_ids=torch.full((1, length), 5))
    except (IndexError, RuntimeError):
        return False
    return True


@pytest.mark.parametrize("model_type", OFFSET_TYPES)
def test_models_whose_positions_start_after_the_padding_index_take_the_table_less_pad_plus_one(
    model_type: str,
) -> None:
    """12 position rows and padding index 1: 10 tokens, the limit, run; 11 overrun the table."""
    model = _tiny_model(model_type, pad_token_id=1)
    limit = position_limit(model.config.to_dict())
    assert limit == 10
    assert _runs(model, limit) and not _runs(model, limit + 1)


@pytest.mark.parametrize("model_type", sorted(set(OFFSET_TYPES) - {"esm", "mpnet"}))
def test_a_config_without_pad_token_id_counts_from_its_class_default(model_type: str) -> None:
    """A hand-written config.json without pad_token_id: transformers builds the class default (0 for MarkupLM and
    LiLT, 1 for RoBERTa), and the limit is counted from that."""
    model = _tiny_model(model_type)
    limit = position_limit({"model_type": model_type, "max_position_embeddings": 12})
    assert limit == 12 - (model.config.pad_token_id + 1)
    assert _runs(model, limit) and not _runs(model, limit + 1)


def test_mpnet_pads_at_index_1_whatever_its_config_says() -> None:
    model = _tiny_model("mpnet", pad_token_id=0)
    assert position_limit(model.config.to_dict()) == 10
    assert _runs(model, 10) and not _runs(model, 11)


@pytest.mark.parametrize("model_type", ["bert", "electra"])
def test_models_that_count_positions_from_0_take_the_whole_table(model_type: str) -> None:
    model = _tiny_model(model_type, pad_token_id=1)
    assert position_limit(model.config.to_dict()) == 12
    assert _runs(model, 12) and not _runs(model, 13)


def _folder(tmp_path: Path, **config) -> str:
    """A model folder holding only a config.json of `config`."""
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return str(tmp_path)


@pytest.mark.parametrize("model_type", ["xlm-roberta", "roberta", "markuplm"])
@pytest.mark.parametrize("pad", [None, "1", 1.0, True, -1, 11, 12])
def test_a_padding_index_the_positions_cannot_start_after_is_one_problem_naming_the_key(
    tmp_path: Path, model_type: str, pad: object
) -> None:
    """null, a string, a fraction, a bool, a negative number, or one that leaves no row of the 12 after it."""
    problem = model_facts(
        _folder(tmp_path, model_type=model_type, max_position_embeddings=12, pad_token_id=pad)
    ).problem
    assert problem is not None and "\n" not in problem
    assert f"config.json: pad_token_id must be a whole number from 0 to 10, got {pad!r}: {model_type} " in problem


def test_a_missing_padding_index_without_a_default_is_one_problem(tmp_path: Path) -> None:
    """ESM's config class has no default padding index; its positions cannot be counted without one."""
    problem = model_facts(_folder(tmp_path, model_type="esm", max_position_embeddings=12)).problem
    assert problem is not None and "pad_token_id must be a whole number from 0 to 10, got none: esm " in problem


@pytest.mark.parametrize("pad", [0, 10])
def test_a_padding_index_from_0_to_the_table_less_two_is_taken(tmp_path: Path, pad: int) -> None:
    facts = model_facts(_folder(tmp_path, model_type="xlm-roberta", max_position_embeddings=12, pad_token_id=pad))
    assert "pad_token_id" not in (facts.problem or "")  # the folder's next problem: it holds no tokenizer
    assert facts.max_length == 12 - (pad + 1)


def test_models_that_count_positions_from_0_may_have_no_padding_index(tmp_path: Path) -> None:
    facts = model_facts(_folder(tmp_path, model_type="bert", max_position_embeddings=12, pad_token_id=None))
    assert "pad_token_id" not in (facts.problem or "") and facts.max_length == 12


@pytest.mark.parametrize("index", ["99999999999999999999", "2147483648", "128", "1"])
def test_a_cuda_index_this_machine_lacks_is_one_line_however_large(index: str) -> None:
    """torch's own parser fails on indices past 2**31 and wraps 128 to -128; the count is what is compared."""
    if int(index) < torch.cuda.device_count():
        pytest.skip(f"this machine has GPU {index}")
    with pytest.raises(UserError, match=rf"^device 'cuda:{index}' asked for, but this machine has \d+ CUDA GPU"):
        check_device(f"cuda:{index}")


@pytest.mark.parametrize("name", ["cuda:01", "cuda:00", "cuda:", "cuda:-1"])
def test_a_cuda_index_torch_cannot_read_is_no_device_name(name: str) -> None:
    assert device_name_problem(name) == f"unknown device '{name}'; use auto, cpu, cuda or cuda:<index>"


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_null_padding_index_in_a_model_folder_is_refused_in_one_line(command: str, workspace: Workspace) -> None:
    """The audit's XLM-R folder whose config.json says `"pad_token_id": null` (`validate` crashed adding 1 to it)."""
    workspace.fill_store()
    model = workspace.root / "xlm-roberta-pad-null"
    shutil.copytree(workspace.model, model)
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    config.update(model_type="xlm-roberta", pad_token_id=None)
    (model / "config.json").write_text(json.dumps(config), encoding="utf-8")
    result = run_cli(command, workspace.config(lambda raw: raw.update(models=[str(model)])))
    assert_refused(result, command, "config.json: pad_token_id must be a whole number from 0 to", workspace)


def test_a_folders_facts_are_read_once_until_a_file_changes(tmp_path, tiny_model, monkeypatch):
    """Each load of a model read its facts again, parsing its tokenizer.json whole (9.6 MB for e5-small: 0.2 CPU s,
    three times a Tatoeba cell). They are read once per process for a folder's files as they are; a file
    rewritten (a folder retrained in place) is read again."""
    import mbert_eval.models.specs as specs

    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    reads = []
    monkeypatch.setattr(specs, "_read_config", lambda path, read=specs._read_config: reads.append(path) or read(path))
    first = model_facts(str(folder))
    assert model_facts(str(folder)) == first and len(reads) == 1
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": config["num_hidden_layers"] + 1}))
    assert model_facts(str(folder)).depth == first.depth + 1 and len(reads) == 2
    import os

    written = (folder / "config.json").stat()  # the same size, its modification time set back (`cp -p`, `rsync -a`)
    (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": config["num_hidden_layers"] + 2}))
    os.utime(folder / "config.json", ns=(written.st_atime_ns, written.st_mtime_ns))
    assert model_facts(str(folder)).depth == first.depth + 2 and len(reads) == 3
    (folder / "tokenizer.json").unlink(missing_ok=True)
    (folder / "vocab.txt").unlink(missing_ok=True)
    assert "has no tokenizer" in (model_facts(str(folder)).problem or "")
