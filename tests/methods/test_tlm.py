"""Translation LM (Conneau & Lample 2019): sequence layout, masking, mixing with MLM, continued pretraining."""

import json
import math
from pathlib import Path

import pytest
import torch
from transformers import (
    AutoModel,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    PreTrainedTokenizerBase,
)

from mbert_eval.config.experiment import TLMConfig
from mbert_eval.data import read_parallel
from mbert_eval.errors import DataError, UserError
from mbert_eval.methods.tlm import tlm_encoder
from mbert_eval.pretraining.loop import PretrainConfig, _load_checkpoint, new_model, pretrain, warm_up_head
from mbert_eval.pretraining.objectives import (
    InputLayout,
    MaskedLM,
    TranslationLM,
    get_objective,
)


@pytest.fixture(scope="module")
def tokenizer(tiny_model: Path) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(tiny_model)


@pytest.fixture(scope="module")
def parallel(small_family) -> list[tuple[Path, Path]]:
    """Both parallel corpora of the family (base → each other language), 50 pairs each."""
    return [small_family.parallel(language.code)[:2] for language in small_family.languages[1:]]


def test_tlm_sequence_layout(tokenizer: PreTrainedTokenizerBase, parallel: list[tuple[Path, Path]]) -> None:
    objective = TranslationLM(tokenizer, max_length=128, mask_prob=0.15)
    examples = objective.examples([], parallel)
    pairs = [pair for source, target in parallel for pair in read_parallel(source, target)]
    assert len(examples) == len(pairs) == 100 and get_objective("tlm") is TranslationLM
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    for example, pair in zip(examples, pairs):
        source = tokenizer(pair.source, add_special_tokens=False)["input_ids"]
        target = tokenizer(pair.target, add_special_tokens=False)["input_ids"]
        assert example.input_ids == [cls, *source, sep, *target, sep]
        head, tail = len(source) + 2, len(target) + 1
        assert example.token_type_ids == [0] * head + [1] * tail
        assert example.position_ids == [*range(head), *range(tail)], "positions restart at the target"
    batch = objective.collate(examples[:8], torch.Generator().manual_seed(0))
    first = examples[0]
    assert batch["position_ids"][0, : len(first.input_ids)].tolist() == first.position_ids
    assert batch["token_type_ids"][0, : len(first.input_ids)].tolist() == first.token_type_ids

    short = TranslationLM(tokenizer, max_length=10, mask_prob=0.15)
    assert max(len(e.input_ids) for e in short.examples([], parallel)) == 10
    long, three = list(range(100, 120)), [5, 6, 7]
    assert short._example(long, three).input_ids == [cls, 100, 101, 102, 103, sep, 5, 6, 7, sep], "longest first"
    assert short._example(three, long[:5]).input_ids == [cls, 5, 6, 7, sep, 100, 101, 102, 103, sep]
    assert short._example(long, long).input_ids == [cls, 100, 101, 102, 103, sep, 100, 101, 102, sep]


def test_roberta_family_restarts_positions_after_the_padding_index(tokenizer: PreTrainedTokenizerBase) -> None:
    xlmr = new_model("tiny", 100, pad_token_id=1, family="xlm-roberta")
    bert = BertForMaskedLM(BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=1, num_attention_heads=2))
    assert InputLayout.of(xlmr) == InputLayout(token_types=1, first_position=2)
    assert InputLayout.of(bert) == InputLayout(token_types=2, first_position=0)
    objective = TranslationLM(tokenizer, max_length=64, mask_prob=0.15, layout=InputLayout.of(xlmr))
    example = objective._example([7, 8, 9], [10, 11])
    assert example.position_ids == [2, 3, 4, 5, 6, 2, 3, 4]
    assert example.token_type_ids == [0] * 8, "one token type: both sides get type 0"
    ids = torch.tensor([example.input_ids])
    default = xlmr.base_model.embeddings.create_position_ids_from_input_ids(ids, padding_idx=1)
    assert default[0, :5].tolist() == example.position_ids[:5], "the source side keeps the model's own positions"


def test_tlm_masks_both_sides_and_never_specials(
    tokenizer: PreTrainedTokenizerBase, parallel: list[tuple[Path, Path]]
) -> None:
    objective = TranslationLM(tokenizer, max_length=64, mask_prob=0.15)
    examples = objective.examples([], parallel)
    generator = torch.Generator().manual_seed(0)
    special = torch.tensor(tokenizer.all_special_ids)
    counts = {"maskable": 0, "selected": 0, "source": 0, "target": 0}
    for _ in range(30):
        for start in range(0, len(examples), 20):
            batch = objective.collate(examples[start : start + 20], generator)
            selected = batch["labels"] != -100
            clean = torch.where(selected, batch["labels"], batch["input_ids"])
            maskable = batch["attention_mask"].bool() & ~torch.isin(clean, special)
            assert not (selected & ~maskable).any(), "special tokens and padding are never masked"
            counts["maskable"] += int(maskable.sum())
            counts["selected"] += int(selected.sum())
            counts["source"] += int((selected & (batch["token_type_ids"] == 0)).sum())
            counts["target"] += int((selected & (batch["token_type_ids"] == 1)).sum())
    assert counts["maskable"] > 30_000
    assert abs(counts["selected"] / counts["maskable"] - 0.15) < 0.01
    assert counts["source"] + counts["target"] == counts["selected"]
    assert min(counts["source"], counts["target"]) > 0.4 * counts["selected"], "both sides are masked"


def test_mlm_and_tlm_mix_in_one_run_from_scratch(
    parallel: list[tuple[Path, Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XLM-R recipe (unigram tokenizer, one token type) trained on the parallel text alone: MLM on its sides."""
    calls = {"mlm": 0, "tlm": 0}
    for objective in (MaskedLM, TranslationLM):
        original = objective.collate

        def counted(self, examples, generator, original=original):  # type: ignore[no-untyped-def]
            calls[self.name] += 1
            return original(self, examples, generator)

        monkeypatch.setattr(objective, "collate", counted)
    config = PretrainConfig(
        corpus=[],
        out_dir=tmp_path / "mixed",
        tokenizer="unigram",
        vocab_size=150,
        objectives=("mlm", "tlm"),
        parallel=parallel,
        max_steps=4,
        batch_size=8,
        max_length=48,
    )
    assert config.monolingual_files() == [path for pair in parallel for path in pair]
    out_dir = pretrain(config, progress=False)
    record = json.loads((out_dir / "pretrain.json").read_text(encoding="utf-8"))
    assert record["steps"] == 4 and record["config"]["objectives"] == ["mlm", "tlm"]
    assert math.isfinite(record["final_loss"])
    assert calls["mlm"] >= 2 and calls["tlm"] >= 2, "batches alternate between the objectives"
    assert type(AutoModel.from_pretrained(out_dir)).__name__ == "XLMRobertaModel"


def test_tlm_continued_pretraining_saves_a_loadable_encoder(
    tiny_model: Path, parallel: list[tuple[Path, Path]], tmp_path: Path
) -> None:
    settings = TLMConfig(steps=3, batch_size=8, learning_rate=1e-3, max_length=64)
    out_dir = tlm_encoder(str(tiny_model), tmp_path / "tlm", parallel, settings, seed=1, progress=False)
    record = json.loads((out_dir / "pretrain.json").read_text(encoding="utf-8"))
    assert record["steps"] == 3 and record["config"]["objectives"] == ["tlm"]
    assert record["config"]["parallel"] == [[str(s), str(t)] for s, t in parallel]
    encoder, base = AutoModel.from_pretrained(out_dir), AutoModel.from_pretrained(tiny_model)
    assert type(encoder).__name__ == "BertModel"
    changed = encoder.embeddings.word_embeddings.weight - base.embeddings.word_embeddings.weight
    assert changed.abs().max() > 0, "the weights were trained"
    tokenizer = AutoTokenizer.from_pretrained(out_dir)
    assert encoder(**tokenizer("su lodfo", return_tensors="pt")).last_hidden_state.shape[-1] == 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tlm"], "no temporary folder is left behind"


def test_config_hash_covers_parallel_files(parallel: list[tuple[Path, Path]], tmp_path: Path) -> None:
    source, target = tmp_path / "a.src", tmp_path / "a.tgt"
    source.write_text(parallel[0][0].read_text(encoding="utf-8"), encoding="utf-8")
    target.write_text(parallel[0][1].read_text(encoding="utf-8"), encoding="utf-8")
    config = PretrainConfig(corpus=[], out_dir=tmp_path / "out", objectives=("tlm",), parallel=[(source, target)])
    before = config.config_hash()
    target.write_text(target.read_text(encoding="utf-8").replace("фиби", "фибо"), encoding="utf-8")
    assert config.config_hash() != before


def test_parallel_user_errors(parallel: list[tuple[Path, Path]], tmp_path: Path) -> None:
    source, target = tmp_path / "three.src", tmp_path / "two.tgt"
    source.write_text("a b\nc d\ne f\n", encoding="utf-8")
    target.write_text("a b\nc d\n", encoding="utf-8")
    config = PretrainConfig(corpus=[], out_dir=tmp_path / "out", objectives=("tlm",), parallel=[(source, target)])
    with pytest.raises(DataError) as error:
        pretrain(config, progress=False)
    message = str(error.value)
    assert "three.src" in message and "two.tgt" in message and "3 lines" in message and "2 lines" in message
    assert "\n" not in message and not (tmp_path / "out").exists()
    cases = [
        (dict(objectives=("tlm",), corpus=[parallel[0][0]]), "tlm objective needs parallel text"),
        (dict(objectives=("mlm",), corpus=[]), "no training text given"),
        (dict(objectives=("tlm",), corpus=[], parallel=[str(source)]), "pairs"),
    ]
    for overrides, expected in cases:
        with pytest.raises(UserError, match=expected) as error:
            PretrainConfig(out_dir=tmp_path / "out", **overrides)  # type: ignore[arg-type]
        assert "\n" not in str(error.value)


def test_head_warm_up_trains_the_head_alone_before_the_encoder(
    tiny_model: Path, parallel: list[tuple[Path, Path]], tmp_path: Path
) -> None:
    """`tlm.head_steps` (LP-FT, Kumar et al. 2022): the masked-LM head's own weights train with the encoder
    frozen (the word embeddings the head's output layer shares included), the encoder's trainability comes back
    as it was, and the run records the head's loss."""
    model, tokenizer = _load_checkpoint(str(tiny_model))
    model.base_model.embeddings.position_embeddings.requires_grad_(False)  # frozen before: stays frozen
    before = {name: value.clone() for name, value in model.state_dict().items()}
    config = PretrainConfig(
        corpus=[], out_dir=tmp_path / "unused", objectives=("tlm",), parallel=parallel, head_steps=3, batch_size=8
    )
    objective = get_objective("tlm")(tokenizer, 64, 0.15, InputLayout.of(model))
    streams = [objective.batches(objective.examples([], parallel), 8, torch.Generator().manual_seed(0))]
    loss = warm_up_head(model.train(), streams, config, torch.device("cpu"), progress=False)
    assert math.isfinite(loss)
    after = model.state_dict()
    changed = {name for name, value in after.items() if not torch.equal(value, before[name])}
    assert changed and all(name.startswith("cls.") for name in changed), changed
    assert "cls.predictions.transform.dense.weight" in changed and "cls.predictions.bias" in changed
    assert model.get_output_embeddings().weight is model.base_model.embeddings.word_embeddings.weight
    assert torch.equal(
        after["bert.embeddings.word_embeddings.weight"], before["bert.embeddings.word_embeddings.weight"]
    )
    frozen = [name for name, parameter in model.named_parameters() if not parameter.requires_grad]
    assert frozen == ["bert.embeddings.position_embeddings.weight"]

    settings = TLMConfig(steps=2, batch_size=8, learning_rate=1e-3, max_length=64, head_steps=2)
    out_dir = tlm_encoder(str(tiny_model), tmp_path / "tlm", parallel, settings, seed=1, progress=False)
    record = json.loads((out_dir / "pretrain.json").read_text(encoding="utf-8"))
    assert record["steps"] == 2 and math.isfinite(record["head_final_loss"])
    assert record["config"]["head_steps"] == 2


def test_head_warm_up_settings_join_the_hash_only_when_set(parallel: list[tuple[Path, Path]], tmp_path: Path) -> None:
    """Folders written before the head warm-up existed keep their hash (and are reused): its settings count only
    when set away from their defaults."""
    hashes = [
        PretrainConfig(corpus=[], out_dir=tmp_path, objectives=("tlm",), parallel=parallel, **settings).config_hash()
        for settings in (
            {},
            {"head_steps": 0, "head_learning_rate": 1e-3},  # the defaults, written out
            {"head_steps": 1},
            {"head_learning_rate": 0.5},
            {"head_steps": 1, "head_learning_rate": 0.5},
        )
    ]
    assert hashes[0] == hashes[1] and len(set(hashes[1:])) == 4
    with pytest.raises(UserError, match="head_steps: must be a whole number of at least 0"):
        PretrainConfig(corpus=[], out_dir=tmp_path, objectives=("tlm",), parallel=parallel, head_steps=-1)
