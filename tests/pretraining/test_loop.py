"""Masked-LM pretraining: tokenizer training, MLM masking, masked-only projection, the pretraining run."""

import json
import math
import random
import shutil
from pathlib import Path

import pytest
import sentencepiece as spm
import torch
from transformers import (
    AutoModel,
    AutoModelForMaskedLM,
    AutoTokenizer,
    PreTrainedTokenizerBase,
)

from mbert_eval.errors import UserError
from mbert_eval.pretraining.loop import (
    HEAD_ADVICE,
    PretrainConfig,
    masked_lm_loss,
    mlm_head,
    new_model,
    pretrain,
)
from mbert_eval.pretraining.objectives import Example, MaskedLM, get_objective
from mbert_eval.pretraining.tokenizer import SPM_MODEL_FILE, train_tokenizer

WORDS = {
    "de": "Haus Straße über schön Stadt läuft Hund Katze groß klein Wörter und der die das".split(),
    "fr": "maison rue très beau ville court chien chat grand petit mots et le la les naïve".split(),
    "zh": "家 街 很 美 城市 跑 狗 猫 大 小 词 和".split(),
}


def _write_corpus(folder: Path) -> list[Path]:
    """Three small 'languages', 150 generated sentences each."""
    rng = random.Random(0)
    paths = []
    for language, words in WORDS.items():
        lines = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 14))) for _ in range(150)]
        path = folder / f"{language}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def wordpiece(corpus: list[Path], tmp_path_factory: pytest.TempPathFactory) -> PreTrainedTokenizerBase:
    return train_tokenizer(corpus, "wordpiece", 300, tmp_path_factory.mktemp("wordpiece"))


def _config(corpus: list[Path], out_dir: Path, **overrides: object) -> PretrainConfig:
    settings = dict(vocab_size=300, max_steps=4, batch_size=8, max_length=32)
    return PretrainConfig(corpus=corpus, out_dir=out_dir, **{**settings, **overrides})


def test_wordpiece_tokenizer_reloads_with_trained_vocab(corpus: list[Path], tmp_path: Path) -> None:
    trained = train_tokenizer(corpus, "wordpiece", 300, tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    trained_size = len(json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"])
    assert 50 < trained_size <= 300
    assert len(trained) == len(reloaded) == trained_size
    assert reloaded.is_fast
    assert reloaded.convert_ids_to_tokens(list(range(5))) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    # cased, accents kept, CJK characters split
    assert reloaded.tokenize("Straße naïve 城市") == ["Straße", "naïve", "城", "市"]
    encoding = reloaded("Haus Straße", "maison rue")
    types = encoding["token_type_ids"]
    assert encoding.word_ids()[0] is None and encoding.word_ids()[1:3] == [0, 1]
    first_sep = encoding["input_ids"].index(reloaded.sep_token_id)
    assert set(types[: first_sep + 1]) == {0} and set(types[first_sep + 1 :]) == {1}


def test_wordpiece_training_is_deterministic(corpus: list[Path], tmp_path: Path) -> None:
    """The same corpus gives the same vocabulary and ids every time (the bare tokenizers trainer does not:
    huggingface/tokenizers#1794), with BERT's five special tokens and no others."""
    files = []
    for run in range(3):
        train_tokenizer(corpus, "wordpiece", 300, tmp_path / str(run))
        files.append((tmp_path / str(run) / "tokenizer.json").read_text(encoding="utf-8"))
    assert files[0] == files[1] == files[2]
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "0")
    assert sorted(tokenizer.all_special_tokens) == sorted(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    pieces = tokenizer.tokenize("Katzenhaus")
    assert len(pieces) > 1 and pieces[1].startswith("##")
    assert tokenizer.decode(tokenizer.convert_tokens_to_ids(pieces), skip_special_tokens=True) == "Katzenhaus"


def test_unigram_tokenizer_matches_sentencepiece(corpus: list[Path], tmp_path: Path) -> None:
    train_tokenizer(corpus, "unigram", 120, tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    processor = spm.SentencePieceProcessor(model_file=str(tmp_path / SPM_MODEL_FILE))
    assert tokenizer.is_fast
    assert len(tokenizer) == processor.get_piece_size() > 30
    special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    assert [tokenizer.convert_tokens_to_ids(token) for token in special] == [0, 1, 2, 3, 4]
    unusual = ["ＨＡＵＳ  Straße\tnaïve ①", "  家 大 "]  # full-width letters, tabs, extra spaces
    lines = corpus[0].read_text(encoding="utf-8").splitlines()[:50] + unusual
    for line in lines:  # same pieces as sentencepiece itself, NFKC normalisation included
        assert tokenizer(line, add_special_tokens=False)["input_ids"] == processor.encode(line)
    encoding = tokenizer("Haus Straße", "maison rue")
    assert encoding["input_ids"][0] == 0 and encoding["input_ids"][-1] == 2
    assert max(i for i in encoding.word_ids() if i is not None) == 1


def test_tokenizers_on_real_multilingual_text(shared_data: Path, tmp_path: Path) -> None:
    corpus = sorted((shared_data / "tatoeba").glob("tatoeba.*-eng.[a-df-z]*"))  # ara cmn deu fra hin rus spa
    assert len(corpus) == 7
    unigram = train_tokenizer(corpus, "unigram", 2000, tmp_path / "unigram")
    processor = spm.SentencePieceProcessor(model_file=str(tmp_path / "unigram" / SPM_MODEL_FILE))
    for path in corpus:
        lines = path.read_text(encoding="utf-8").splitlines()[:200]
        assert unigram(lines, add_special_tokens=False)["input_ids"] == processor.encode(lines), path.name
    wordpiece = train_tokenizer(corpus, "wordpiece", 2000, tmp_path / "wordpiece")
    assert len(AutoTokenizer.from_pretrained(tmp_path / "wordpiece")) == len(wordpiece) > 1000
    assert wordpiece.unk_token not in wordpiece.tokenize("Ich möchte Tee. Я хочу чаю. 我想喝茶。")


def test_unknown_tokenizer_kind_and_missing_corpus(corpus: list[Path], tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown tokenizer kind 'bpe'"):
        train_tokenizer(corpus, "bpe", 100, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="corpus file not found"):
        train_tokenizer([tmp_path / "missing.txt"], "wordpiece", 100, tmp_path)


def test_mlm_masking_statistics(corpus: list[Path], wordpiece: PreTrainedTokenizerBase) -> None:
    objective = MaskedLM(wordpiece, max_length=64, mask_prob=0.15)
    examples = objective.examples(corpus)
    generator = torch.Generator().manual_seed(0)
    special = torch.tensor(wordpiece.all_special_ids)
    counts = dict(maskable=0, selected=0, masked=0, unchanged=0)
    for start in range(0, 40 * len(examples), 16):
        chunk = [examples[(start + i) % len(examples)] for i in range(16)]
        batch = objective.collate(chunk, generator)
        attention = batch["attention_mask"].bool()
        labels = batch["labels"]
        selected = labels != -100
        clean = torch.where(selected, labels, batch["input_ids"])  # the uncorrupted ids
        maskable = attention & ~torch.isin(clean, special)
        assert not (selected & ~maskable).any(), "special tokens and padding are never masked"
        assert torch.equal(batch["input_ids"][~selected], clean[~selected])
        assert (clean[~attention] == wordpiece.pad_token_id).all()
        counts["maskable"] += int(maskable.sum())
        counts["selected"] += int(selected.sum())
        counts["masked"] += int((selected & (batch["input_ids"] == wordpiece.mask_token_id)).sum())
        counts["unchanged"] += int((selected & (batch["input_ids"] == labels)).sum())
    assert counts["maskable"] > 50_000
    assert abs(counts["selected"] / counts["maskable"] - 0.15) < 0.01
    assert abs(counts["masked"] / counts["selected"] - 0.8) < 0.02
    assert abs(counts["unchanged"] / counts["selected"] - 0.1) < 0.02  # plus random picks of the same token
    assert abs(1 - (counts["masked"] + counts["unchanged"]) / counts["selected"] - 0.1) < 0.02


def test_mlm_examples_pack_lines_and_split_long_ones(wordpiece: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("Haus " * 100 + "\nStadt Hund\nKatze\n", encoding="utf-8")
    examples = MaskedLM(wordpiece, max_length=32, mask_prob=0.15).examples([path])
    assert [len(e.input_ids) for e in examples] == [32, 32, 32, 10 + 2 + 3]  # 100 = 30+30+30+10, then packed
    assert all(e.input_ids[0] == wordpiece.cls_token_id for e in examples)
    assert all(e.input_ids[-1] == wordpiece.sep_token_id for e in examples)
    assert examples[-1].input_ids[-4:-1] == wordpiece.convert_tokens_to_ids(["Stadt", "Hund", "Katze"])


def test_mlm_batch_always_predicts_something(wordpiece: PreTrainedTokenizerBase) -> None:
    objective = MaskedLM(wordpiece, max_length=32, mask_prob=0.0)
    example = Example(input_ids=wordpiece("Haus Stadt")["input_ids"], token_type_ids=[0] * 4)
    batch = objective.collate([example], torch.Generator().manual_seed(0))
    assert int((batch["labels"] != -100).sum()) == 1


@pytest.mark.parametrize("family", ["bert", "xlm-roberta"])
def test_masked_projection_gives_the_full_projection_loss(
    corpus: list[Path], wordpiece: PreTrainedTokenizerBase, family: str
) -> None:
    torch.manual_seed(0)
    model = new_model("tiny", len(wordpiece), wordpiece.pad_token_id, family).eval()  # type: ignore[arg-type]
    assert type(mlm_head(model)).__name__ == ("BertOnlyMLMHead" if family == "bert" else "XLMRobertaLMHead")
    objective = MaskedLM(wordpiece, max_length=48, mask_prob=0.15)
    batch = objective.collate(objective.examples(corpus)[:8], torch.Generator().manual_seed(1))
    masked, full = masked_lm_loss(model, batch, "masked"), masked_lm_loss(model, batch, "full")
    assert math.isfinite(masked.item())
    torch.testing.assert_close(masked, full, rtol=1e-5, atol=1e-5)


def _split_heads(vocab: int) -> dict[str, object]:
    """Tiny masked-LM models whose head is no one module returning logits: split over several children
    (DistilBERT, ELECTRA, ModernBERT) or answering with a tuple (XLM)."""
    from transformers import (
        DistilBertConfig,
        DistilBertForMaskedLM,
        ElectraConfig,
        ElectraForMaskedLM,
        ModernBertConfig,
        ModernBertForMaskedLM,
        XLMConfig,
        XLMWithLMHeadModel,
    )

    small = dict(vocab_size=vocab, pad_token_id=0)
    layers = dict(hidden_size=64, num_hidden_layers=1, num_attention_heads=2, intermediate_size=128)
    return {
        "distilbert": lambda: DistilBertForMaskedLM(
            DistilBertConfig(dim=64, n_layers=1, n_heads=2, hidden_dim=128, **small)
        ),
        "electra": lambda: ElectraForMaskedLM(ElectraConfig(embedding_size=64, **layers, **small)),
        "modernbert": lambda: ModernBertForMaskedLM(
            ModernBertConfig(
                **layers, **small, bos_token_id=None, eos_token_id=None, cls_token_id=None, sep_token_id=None
            )
        ),
        "xlm": lambda: XLMWithLMHeadModel(XLMConfig(emb_dim=64, n_layers=1, n_heads=2, vocab_size=vocab, pad_index=0)),
    }


@pytest.mark.parametrize("name", ["distilbert", "electra", "modernbert", "xlm"])
def test_a_head_split_over_several_modules_is_projected_whole(
    name: str, corpus: list[Path], wordpiece: PreTrainedTokenizerBase
) -> None:
    """The masked projection applied only the module owning the output embeddings: DistilBERT's, ELECTRA's and
    ModernBERT's transforms and norms were skipped (losses 0.04-0.14 off, and `--init-from` never trained them),
    and XLM's head, which answers with a tuple, raised. These take the model's full forward, the same loss."""
    from mbert_eval.pretraining.objectives import InputLayout

    torch.manual_seed(0)
    model = _split_heads(len(wordpiece))[name]().eval()
    assert mlm_head(model) is None
    objective = MaskedLM(wordpiece, max_length=32, mask_prob=0.15, layout=InputLayout.of(model))
    batch = objective.collate(objective.examples(corpus)[:8], torch.Generator().manual_seed(1))
    torch.testing.assert_close(masked_lm_loss(model, batch, "masked"), masked_lm_loss(model, batch, "full"))


def test_a_run_whose_one_step_is_the_warm_ups_first_is_refused(corpus: list[Path], tmp_path: Path) -> None:
    """The warm-up's first step runs at learning rate 0: `max_steps 1` wrote an untrained model, recorded as
    trained for one step."""
    with pytest.raises(UserError, match="trains nothing \\(its learning rate is 0, warmup_ratio 0.1\\)"):
        _config(corpus, tmp_path / "one", max_steps=1, warmup_ratio=0.1)
    one = pretrain(_config(corpus, tmp_path / "flat", max_steps=1, warmup_ratio=0.0), progress=False)
    assert json.loads((one / "pretrain.json").read_text(encoding="utf-8"))["steps"] == 1


def test_pretrain_saves_loads_continues_and_reuses(corpus: list[Path], tmp_path: Path) -> None:
    out_dir = pretrain(_config(corpus, tmp_path / "tiny"), progress=False)
    record = json.loads((out_dir / "pretrain.json").read_text(encoding="utf-8"))
    assert record["steps"] == 4 and math.isfinite(record["final_loss"]) and record["tokens_per_second"] > 0
    assert record["threads"] == torch.get_num_threads()  # the weights' last bits depend on it
    assert (out_dir / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"], "no temporary folder is left behind"
    tokenizer = AutoTokenizer.from_pretrained(out_dir)
    assert len(tokenizer) == AutoModelForMaskedLM.from_pretrained(out_dir).config.vocab_size
    encoder = AutoModel.from_pretrained(out_dir)
    assert encoder(**tokenizer("Haus Straße", return_tensors="pt")).last_hidden_state.shape == (1, 4, 128)
    assert type(AutoModelForMaskedLM.from_pretrained(out_dir)).__name__ == "BertForMaskedLM"

    written = (out_dir / "pretrain.json").stat().st_mtime_ns
    assert pretrain(_config(corpus, out_dir), progress=False) == out_dir
    assert (out_dir / "pretrain.json").stat().st_mtime_ns == written, "same config: reused, not retrained"
    again = pretrain(_config(corpus, tmp_path / "again"), progress=False)
    weights = (out_dir / "model.safetensors").read_bytes()
    assert (again / "model.safetensors").read_bytes() == weights, "same config elsewhere: the same weights"

    continued = pretrain(_config(corpus, tmp_path / "continued", init_from=str(out_dir), max_steps=2), progress=False)
    assert json.loads((continued / "pretrain.json").read_text(encoding="utf-8"))["steps"] == 2
    assert len(AutoTokenizer.from_pretrained(continued)) == len(tokenizer), "tokenizer comes from init_from"


def test_pretrain_unigram_builds_xlm_roberta(corpus: list[Path], tmp_path: Path) -> None:
    out_dir = pretrain(_config(corpus, tmp_path / "xlmr", tokenizer="unigram", vocab_size=150), progress=False)
    assert (out_dir / SPM_MODEL_FILE).is_file()
    model = AutoModelForMaskedLM.from_pretrained(out_dir)
    assert type(model).__name__ == "XLMRobertaForMaskedLM"
    assert model.config.vocab_size == len(AutoTokenizer.from_pretrained(out_dir))


def test_pretrain_stops_at_the_time_budget(corpus: list[Path], tmp_path: Path) -> None:
    out_dir = pretrain(_config(corpus, tmp_path / "timed", max_steps=10_000, max_minutes=0.001), progress=False)
    assert 1 <= json.loads((out_dir / "pretrain.json").read_text(encoding="utf-8"))["steps"] < 10_000


def test_the_device_is_used_and_left_out_of_the_hash(
    corpus: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``device`` reaches the loop (not its own CUDA-if-present choice), is recorded, and does not change the hash:
    a folder pretrained on a GPU is reused on a CPU."""
    import mbert_eval.pretraining.loop

    requested = []
    real = mbert_eval.pretraining.loop.pick_device
    monkeypatch.setattr(
        mbert_eval.pretraining.loop, "pick_device", lambda device: requested.append(device) or real(device)
    )
    out_dir = pretrain(_config(corpus, tmp_path / "cpu", max_steps=2, device="cpu"), progress=False)
    assert requested and set(requested) == {"cpu"}
    record = json.loads((out_dir / "pretrain.json").read_text(encoding="utf-8"))
    assert record["config"]["device"] == "cpu"
    assert record["config_hash"] == _config(corpus, out_dir, max_steps=2).config_hash()
    with pytest.raises(UserError, match="unknown device 'gpu0'"):
        _config(corpus, tmp_path / "x", device="gpu0")


def test_pretrain_command_takes_a_device(corpus: list[Path], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mbert_eval.cli import main

    options = ["--out", str(tmp_path / "m"), "--vocab-size", "300", "--max-steps", "2", "--batch-size", "4"]
    result = CliRunner().invoke(main, ["pretrain", *map(str, corpus), *options, "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m" / "pretrain.json").read_text(encoding="utf-8"))["config"]["device"] == "cpu"
    result = CliRunner().invoke(main, ["pretrain", *map(str, corpus), *options, "--device", "tpu:x"])
    assert result.exit_code == 2 and "unknown device 'tpu:x'" in result.output and "Traceback" not in result.output


def test_pretrain_command_warms_the_head_up(corpus: list[Path], tiny_model: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mbert_eval.cli import main

    options = ["--out", str(tmp_path / "m"), "--init-from", str(tiny_model), "--max-steps", "2", "--batch-size", "4"]
    result = CliRunner().invoke(main, ["pretrain", *map(str, corpus), *options, "--head-steps", "2"])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "m" / "pretrain.json").read_text(encoding="utf-8"))
    assert record["config"]["head_steps"] == 2 and math.isfinite(record["head_final_loss"])
    result = CliRunner().invoke(main, ["pretrain", *map(str, corpus), *options, "--head-steps", "-1"])
    assert result.exit_code == 2 and "--head-steps: must be a whole number of at least 0, got -1" in result.output


def test_interrupted_pretrain_leaves_no_folder(
    corpus: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("mbert_eval.pretraining.loop._train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pretrain(_config(corpus, tmp_path / "run"), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_user_errors_are_one_line(corpus: list[Path], tmp_path: Path) -> None:
    cases = [
        (lambda: _config(corpus, tmp_path / "a", objectives=("mlm", "xlm")), "unknown pretraining objective 'xlm'"),
        (lambda: _config(corpus, tmp_path / "a", preset="huge"), "unknown size preset 'huge'"),
        (
            lambda: _config(corpus, tmp_path / "a", max_minutes=0),
            "max_minutes: must be a positive finite number, got 0",
        ),
        (lambda: pretrain(_config([tmp_path / "nope.txt"], tmp_path / "a")), "corpus file not found"),
        (lambda: pretrain(_config(corpus, tmp_path / "a", init_from=str(tmp_path / "ckpt"))), "does not exist"),
        (lambda: pretrain(_config(corpus, tmp_path / "a", init_from="someone/no-such-model")), "local folder"),
        (lambda: pretrain(_config(corpus, corpus[0].parent)), "not an earlier output folder"),
    ]
    for make, message in cases:
        with pytest.raises(UserError, match=message) as error:
            make()
        assert "\n" not in str(error.value)
    assert get_objective("mlm") is MaskedLM


def test_an_encoder_without_its_masked_lm_head_is_said_in_one_line(
    corpus: list[Path], tiny_model: Path, tmp_path: Path, capsys
) -> None:
    """Continuing from an encoder saved without its masked-LM head (as multilingual-e5 is) starts that head from
    random weights: one line says so, instead of transformers' warning that the checkpoint "seems corrupted"; a
    checkpoint with the head says nothing."""
    encoder_only = tmp_path / "encoder"
    AutoModel.from_pretrained(tiny_model).save_pretrained(encoder_only)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(encoder_only)
    capsys.readouterr()
    pretrain(_config(corpus, tmp_path / "a", init_from=str(encoder_only), max_steps=2), progress=False)
    assert capsys.readouterr().err.splitlines() == [
        f"model {encoder_only}: cls newly initialized (not in the checkpoint; {HEAD_ADVICE})"
    ]
    pretrain(_config(corpus, tmp_path / "w", init_from=str(encoder_only), max_steps=2, head_steps=1), progress=False)
    assert capsys.readouterr().err.splitlines() == [
        f"model {encoder_only}: cls newly initialized (not in the checkpoint)"
    ]
    pretrain(_config(corpus, tmp_path / "b", init_from=str(tiny_model), max_steps=2), progress=False)
    assert capsys.readouterr().err == ""


def test_a_diverged_pretraining_loss_saves_no_model(corpus: list[Path], tmp_path: Path) -> None:
    """A loss that turns NaN ends pretraining in one line naming the setting to lower; no model folder is left
    (before, the NaN weights were saved as a model, and TLM cells fine-tuned and scored them)."""
    config = _config(corpus, tmp_path / "tiny", learning_rate=1e30, max_steps=12)
    with pytest.raises(UserError, match=r"pretrain, step \d+: the training loss became nan .*learning_rate"):
        pretrain(config, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_max_length_is_bounded_by_the_init_models_own_position_table(
    corpus: list[Path], tiny_model: Path, tmp_path: Path
) -> None:
    """Continuing a checkpoint, the longest sequence is its position table's, not the size preset's 512: the tiny
    model's 128 positions refuse 200 tokens (which would overrun them), a 1,024-position model takes 600."""
    with pytest.raises(UserError, match=r"max_length must be between 3 and 128 \(the position table of .*\), got 200"):
        _config(corpus, tmp_path / "a", init_from=str(tiny_model), max_length=200)
    wide = shutil.copytree(tiny_model, tmp_path / "wide")
    config = json.loads((wide / "config.json").read_text(encoding="utf-8"))
    (wide / "config.json").write_text(json.dumps({**config, "max_position_embeddings": 1024}), encoding="utf-8")
    assert _config(corpus, tmp_path / "b", init_from=str(wide), max_length=600).max_length == 600


def test_a_checkpoint_retrained_in_place_is_continued_anew(corpus: list[Path], tmp_path: Path) -> None:
    """The output of continuing a checkpoint is reused only while that checkpoint's content is the same (before,
    its path alone was hashed, and a retrained checkpoint's old continuation was reused)."""
    first = pretrain(_config(corpus, tmp_path / "a"), progress=False)
    before = _config(corpus, tmp_path / "b", init_from=str(first), max_steps=2).config_hash()
    pretrain(_config(corpus, tmp_path / "a", seed=5), progress=False)  # the checkpoint retrained in place
    assert _config(corpus, tmp_path / "b", init_from=str(first), max_steps=2).config_hash() != before


def test_a_seed_beyond_32_bits_is_one_line(corpus: list[Path], tmp_path: Path) -> None:
    for seed in (-1, 2**32, 10**20):
        with pytest.raises(UserError, match=rf"seed: must be a whole number from 0 to 4294967295, got {seed}"):
            _config(corpus, tmp_path / "a", seed=seed)
