"""Masked-LM pretraining of BERT-style encoders from scratch or from a checkpoint (continued pretraining).

From scratch, ``tokenizer="wordpiece"`` gives the mBERT recipe (BERT architecture, Devlin et al. 2019) and
``tokenizer="unigram"`` the XLM-R recipe (RoBERTa architecture with a SentencePiece vocabulary, Conneau et al.
2020); the size comes from ``SIZE_PRESETS``. The vocabulary projection, the largest matrix product of a small
model, is applied only at masked positions (``projection="masked"``): the loss is the same as with the full
projection, which ``benchmarks/bench_mlm_projection.py`` compares for speed. With ``parallel`` file pairs,
translation LM (``objectives=("tlm",)``, Conneau & Lample 2019) trains on them, alone or mixed with MLM. The
result is a Hugging Face folder that ``AutoModelForMaskedLM`` / ``AutoModel`` / ``AutoTokenizer`` load, with a
``pretrain.json`` record.
"""

import hashlib
import json
import math
import shutil
import sys
import time
import weakref
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal

import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import (
    AutoModelForMaskedLM,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
)

from mbert_eval.config.experiment import HASHED_WHEN_SET, MAX_SEED
from mbert_eval.data import file_checksum, read_parallel
from mbert_eval.errors import UserError, shown
from mbert_eval.models.encoders import new_module_lines, pick_device, quiet_loading
from mbert_eval.models.fingerprint import model_fingerprint
from mbert_eval.models.folders import atomic_output
from mbert_eval.models.progress import progress_bar
from mbert_eval.models.specs import check_model_spec, model_facts
from mbert_eval.pretraining.objectives import (
    OBJECTIVES,
    TLM_NEEDS_PARALLEL,
    Batch,
    InputLayout,
    Objective,
    get_objective,
)
from mbert_eval.pretraining.tokenizer import (
    TOKENIZER_KINDS,
    WORDPIECE_SPECIAL_TOKENS,
    check_corpus,
    train_tokenizer,
)
from mbert_eval.training.optim import adamw, finite_loss, lr_factor

_POSITIONS = {"max_position_embeddings": 512}
SIZE_PRESETS: dict[str, dict[str, int]] = {
    "tiny": dict(num_hidden_layers=2, hidden_size=128, num_attention_heads=2, intermediate_size=512, **_POSITIONS),
    "mini": dict(num_hidden_layers=4, hidden_size=256, num_attention_heads=4, intermediate_size=1024, **_POSITIONS),
    "small": dict(num_hidden_layers=4, hidden_size=512, num_attention_heads=8, intermediate_size=2048, **_POSITIONS),
    "base": dict(num_hidden_layers=12, hidden_size=768, num_attention_heads=12, intermediate_size=3072, **_POSITIONS),
}
FAMILIES = {"wordpiece": "bert", "unigram": "xlm-roberta"}  # the architecture each tokenizer recipe pairs with
Projection = Literal["masked", "full"]  # vocabulary projection at masked positions only, or at all positions
RECORD_FILE = "pretrain.json"
# a vocabulary holds the recipe's 5 special tokens ([PAD] [UNK] [CLS] [SEP] [MASK]; <s> <pad> </s> <unk> <mask>)
# and some pieces (the trainers also need the corpus's characters; too few for them is said by them). A negative
# size overflows the WordPiece trainer; one near 2**31 aborts it out of memory and does not parse in SentencePiece
# (mBERT has 119,547 entries, XLM-R 250,002)
MIN_VOCAB_SIZE = len(WORDPIECE_SPECIAL_TOKENS) + 11
MAX_VOCAB_SIZE = 10_000_000
# said on the "newly initialized" line of a masked-LM head that starts random and is not warmed up (`warm_up_head`)
# the warm-up's first step runs at learning rate 0: a run of that one step would write an untrained model
ONE_STEP_AT_ZERO = (
    "a run whose only step is the warm-up's first trains nothing (its learning rate is 0, warmup_ratio {ratio}): "
    "give max_steps 2 or more (or more time), or warmup_ratio 0"
)
HEAD_ADVICE = "`tlm.head_steps` (pretrain --head-steps) trains it alone first"
LOG_EVERY = 10  # steps between loss read-outs (each one waits for the device)


@dataclass
class PretrainConfig:
    """Everything that determines a pretraining run; its hash decides whether an output folder can be reused."""

    corpus: list[Path]  # plain-text files, one sentence per line; each file is one language (may be empty: parallel)
    out_dir: Path  # the Hugging Face folder to write (replaced atomically)
    preset: str = "tiny"  # model size, a key of SIZE_PRESETS (ignored with init_from)
    tokenizer: str = "wordpiece"  # "wordpiece" (mBERT recipe) or "unigram" (XLM-R recipe); ignored with init_from
    vocab_size: int = 8000  # tokenizer size to train, special tokens included (ignored with init_from)
    init_from: str | None = None  # checkpoint folder or Hub name to continue pretraining; its tokenizer is used
    objectives: tuple[str, ...] = ("mlm",)  # keys of objectives.OBJECTIVES; several alternate batch by batch
    max_steps: int = 1000  # optimizer steps; the learning-rate schedule spans them
    max_minutes: float | None = None  # also stop after this much training time; the schedule then spans it
    batch_size: int = 32  # sequences per step
    learning_rate: float = 1e-4  # peak AdamW learning rate (BERT, Devlin et al. 2019)
    warmup_ratio: float = 0.01  # share of the run with linear warm-up (BERT: 10k of 1M steps), then linear decay
    weight_decay: float = 0.01  # AdamW decay on weight matrices, not on biases or LayerNorm (BERT)
    max_grad_norm: float = 1.0  # gradient clipping (BERT)
    max_length: int = 128  # tokens per sequence, special tokens included (BERT's first phase)
    mask_prob: float = 0.15  # share of tokens predicted (Devlin et al. 2019)
    seed: int = 0  # model initialisation, dropout, shuffling and masking
    projection: Projection = "masked"  # "full" only to compare speed: the loss is the same
    parallel: list[tuple[Path, Path]] = ()  # line-aligned (source, target) files for "tlm"; MLM text if no corpus
    device: str = "auto"  # auto (CUDA when present), cpu, cuda, cuda:1, ...; not part of the hash
    # steps that train the masked-LM head alone, the encoder frozen, before `max_steps` (`warm_up_head`); added
    # after folders were first hashed, so hashed only when set (`HASHED_WHEN_SET`): earlier folders are reused
    head_steps: int = field(default=0, metadata=HASHED_WHEN_SET)
    head_learning_rate: float = field(default=1e-3, metadata=HASHED_WHEN_SET)  # constant over the head's steps

    def __post_init__(self) -> None:
        self.corpus = [Path(path) for path in self.corpus]
        if any(isinstance(pair, (str, Path)) or len(pair) != 2 for pair in self.parallel):
            raise UserError("parallel must list (source file, target file) pairs of line-aligned text")
        self.parallel = [(Path(source), Path(target)) for source, target in self.parallel]
        self.out_dir = Path(self.out_dir)
        self.objectives = tuple(self.objectives)
        if self.preset not in SIZE_PRESETS:
            raise UserError(f"unknown size preset {self.preset!r}; known: {', '.join(SIZE_PRESETS)}")
        if self.tokenizer not in TOKENIZER_KINDS:
            raise UserError(f"unknown tokenizer kind {self.tokenizer!r}; known: {', '.join(TOKENIZER_KINDS)}")
        if not self.objectives:
            raise UserError(f"no pretraining objective given; known: {', '.join(sorted(OBJECTIVES))}")
        for name in self.objectives:
            get_objective(name)
        if "tlm" in self.objectives and not self.parallel:
            raise UserError(TLM_NEEDS_PARALLEL)
        if not self.corpus and not self.parallel:
            raise UserError("no training text given: pass corpus files (one sentence a line) or parallel file pairs")
        if self.projection not in ("masked", "full"):
            raise UserError(f"unknown projection {self.projection!r}; known: masked, full")
        for name in NUMBER_SETTINGS:
            problem = setting_problem(name, getattr(self, name))
            if problem:
                raise UserError(f"{name}: {problem}")
        if not (0 < self.mask_prob < 1 and 0 <= self.warmup_ratio < 1):
            raise UserError(
                f"mask_prob ({self.mask_prob}) must be in (0, 1) and warmup_ratio ({self.warmup_ratio}) in [0, 1)"
            )
        if self.max_steps == 1 and self.warmup_ratio > 0:
            raise UserError(ONE_STEP_AT_ZERO.format(ratio=self.warmup_ratio))
        pick_device(self.device)  # a device that cannot exist fails here, before any training
        table = model_facts(self.init_from).max_length if self.init_from else None  # a checkpoint's own (local)
        positions = table or SIZE_PRESETS[self.preset]["max_position_embeddings"]
        shortest = 5 if "tlm" in self.objectives else 3  # [CLS] a [SEP] b [SEP]: one token of each side
        if not shortest <= self.max_length <= positions:
            whose = f" (the position table of {self.init_from})" if table else ""
            what = " for tlm, which needs a token of each side between [CLS] and two [SEP]" if shortest == 5 else ""
            raise UserError(
                f"max_length must be between {shortest} and {positions}{whose}{what}, got {self.max_length}"
            )

    def input_paths(self) -> list[Path]:
        """What the run reads and its output folder must never replace: the corpus and parallel files and the
        ``init_from`` checkpoint when it is a local path (a Hub name is not)."""
        paths = [*self.corpus, *(path for pair in self.parallel for path in pair)]
        if self.init_from is not None and Path(self.init_from).expanduser().exists():
            paths.append(Path(self.init_from).expanduser())
        return paths

    def monolingual_files(self) -> list[Path]:
        """The text for MLM and tokenizer training: ``corpus``, or each side of the parallel text if it is empty."""
        return self.corpus or [path for pair in self.parallel for path in pair]

    def check_files(self) -> None:
        """Raise a one-line ``DataError`` unless every corpus file has text and every parallel pair of files has
        the same number of non-empty lines."""
        check_corpus(self.monolingual_files())
        for source, target in self.parallel:
            read_parallel(source, target)

    def config_hash(self) -> str:
        """SHA-256 of this config as sorted JSON (without ``out_dir`` and ``device``: where a run is written and
        what it runs on are not what it learns from; without the ``HASHED_WHEN_SET`` settings at their defaults)
        plus the checksum of each corpus and parallel file, after ``check_files``, and the content fingerprint of
        the ``init_from`` checkpoint (a folder retrained in place is continued anew)."""
        self.check_files()
        at_default = [
            f.name for f in fields(self) if f.metadata.get("hashed_when_set") and getattr(self, f.name) == f.default
        ]
        unhashed = {"out_dir", "device", *at_default}
        settings = {key: value for key, value in self.to_json().items() if key not in unhashed}
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
        for path in [*self.corpus, *(path for pair in self.parallel for path in pair)]:
            digest.update(file_checksum(path).encode())
        if self.init_from is not None and check_model_spec(self.init_from) is None:  # its content, not only its path
            digest.update(model_fingerprint(self.init_from).encode())
        return digest.hexdigest()

    def to_json(self) -> dict[str, object]:
        """The config as JSON-compatible values (paths as strings)."""
        settings = asdict(self)
        settings["corpus"] = [str(path) for path in self.corpus]
        settings["parallel"] = [[str(source), str(target)] for source, target in self.parallel]
        settings["out_dir"] = str(self.out_dir)
        settings["objectives"] = list(self.objectives)
        return settings


NUMBER_SETTINGS = (  # `setting_problem`
    "seed",
    "max_steps",
    "batch_size",
    "vocab_size",
    "learning_rate",
    "max_minutes",
    "head_steps",
    "head_learning_rate",
)


def setting_problem(name: str, value: object) -> str | None:
    """What is wrong with the value of one of the ``NUMBER_SETTINGS`` (None: nothing; ``max_minutes`` may be
    None): a seed that is no whole number from 0 to ``MAX_SEED`` (torch's generators take 32-bit seeds), a step
    count or batch size that is no whole number of at least 1 (``head_steps``: of at least 0), a
    vocabulary size outside ``MIN_VOCAB_SIZE``..``MAX_VOCAB_SIZE``, a learning rate or time budget that is not a
    positive finite number (NaN, infinite, zero or negative: a run that trains nothing or diverges)."""
    whole = isinstance(value, int) and not isinstance(value, bool)
    if name == "seed":
        return (
            None
            if whole and 0 <= value <= MAX_SEED
            else f"must be a whole number from 0 to {MAX_SEED}, got {_number(value)}"
        )
    if name in ("max_steps", "batch_size"):
        return None if whole and value >= 1 else f"must be a whole number of at least 1, got {_number(value)}"
    if name == "head_steps":
        return None if whole and value >= 0 else f"must be a whole number of at least 0, got {_number(value)}"
    if name == "vocab_size":
        if whole and MIN_VOCAB_SIZE <= value <= MAX_VOCAB_SIZE:
            return None
        return (
            f"must be a whole number from {MIN_VOCAB_SIZE} ({len(WORDPIECE_SPECIAL_TOKENS)} special tokens and a "
            f"few pieces) to {MAX_VOCAB_SIZE:,}, got {_number(value)}"
        )
    if name == "max_minutes" and value is None:
        return None
    real = isinstance(value, (int, float)) and not isinstance(value, bool)
    if real and math.isfinite(value) and value > 0:
        return None
    return f"must be a positive finite number, got {_number(value)}"


def _number(value: object) -> str:
    """A setting's value as a message shows it: `-1`, `nan`, `1e-09` for floats, else `shown`."""
    return f"{value:g}" if isinstance(value, float) else shown(value)


def pretrain(config: PretrainConfig, reuse: bool = True, progress: bool = True) -> Path:
    """Pretrain with masked LM (Devlin et al. 2019) and/or translation LM (Conneau & Lample 2019) and write a
    Hugging Face folder to ``config.out_dir``.

    AdamW with linear warm-up and decay; the loss projects onto the vocabulary only at masked positions unless
    ``config.projection == "full"``. With ``reuse``, a folder whose ``pretrain.json`` has the same config hash is
    returned untouched. The folder is written through ``models.folders.atomic_output``.
    """
    config_hash = config.config_hash()
    if reuse and _recorded_hash(config.out_dir) == config_hash:
        return config.out_dir
    with atomic_output(config.out_dir, RECORD_FILE, config.input_paths(), "the model folder") as partial:
        torch.manual_seed(config.seed)
        model, tokenizer = _model_and_tokenizer(config, partial)
        layout = InputLayout.of(model)
        objectives = [
            get_objective(name)(tokenizer, config.max_length, config.mask_prob, layout) for name in config.objectives
        ]
        stats = _train(model, objectives, config, progress)
        if not stats["steps"]:  # an untrained model is no pretrained one: nothing is written
            budget = "" if config.max_minutes is None else f" (max_minutes {config.max_minutes:g}, --max-minutes)"
            raise UserError(
                f"no training step fit in the time given{budget}: nothing was written to {config.out_dir}; "
                "give the run more time"
            )
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        _copy_vocab_file(tokenizer, partial)
        # the thread count is recorded, not hashed: the weights' last bits depend on it (sums rounded in another
        # order), the recipe does not
        record = {"config": config.to_json(), "config_hash": config_hash, "threads": torch.get_num_threads(), **stats}
        (partial / RECORD_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return config.out_dir


def new_model(
    preset: str, vocab_size: int, pad_token_id: int, family: Literal["bert", "xlm-roberta"] = "bert"
) -> PreTrainedModel:
    """A freshly initialised masked-LM model of size ``preset``: BERT (Devlin et al. 2019) or XLM-R (Conneau et
    al. 2020), whose positions start after the padding index, hence ``pad_token_id + 1`` extra position rows."""
    if preset not in SIZE_PRESETS:
        raise UserError(f"unknown size preset {preset!r}; known: {', '.join(SIZE_PRESETS)}")
    size = dict(SIZE_PRESETS[preset])
    if family == "xlm-roberta":
        size["max_position_embeddings"] += pad_token_id + 1
        return XLMRobertaForMaskedLM(
            XLMRobertaConfig(vocab_size=vocab_size, pad_token_id=pad_token_id, type_vocab_size=1, **size)
        )
    return BertForMaskedLM(BertConfig(vocab_size=vocab_size, pad_token_id=pad_token_id, **size))


def head_children(model: PreTrainedModel) -> list[tuple[str, nn.Module]]:
    """The masked-LM head's modules by name: the children of ``model`` besides its encoder that hold parameters
    (one for BERT, ``cls``; RoBERTa/XLM-R, ``lm_head``; ALBERT, ``predictions``; several for DistilBERT, ELECTRA
    and ModernBERT, whose heads are split over a transform, a norm and the projection)."""
    return [
        (name, child)
        for name, child in model.named_children()
        if child is not model.base_model and next(child.parameters(), None) is not None
    ]


_HEADS: weakref.WeakKeyDictionary[PreTrainedModel, nn.Module | None] = weakref.WeakKeyDictionary()


def mlm_head(model: PreTrainedModel) -> nn.Module | None:
    """The masked-LM head of ``model`` as one module that maps hidden states of any leading shape to vocabulary
    logits: its one head child (``head_children``), where that child owns the output embeddings and answers a
    hidden state with logits over the vocabulary (probed once per model). None where the head is split over
    several children or answers otherwise (XLM's returns a tuple): the masked projection would skip part of it."""
    output = model.get_output_embeddings()
    if output is None:
        raise UserError(f"{type(model).__name__} has no masked-LM head; load the checkpoint with AutoModelForMaskedLM")
    if model not in _HEADS:
        heads = [child for _, child in head_children(model)]
        head = heads[0] if len(heads) == 1 and any(module is output for module in heads[0].modules()) else None
        if head is not None:
            probe = torch.zeros(1, model.config.hidden_size, dtype=output.weight.dtype, device=output.weight.device)
            with torch.no_grad():
                answer = head(probe)
            if not (isinstance(answer, torch.Tensor) and answer.shape == (1, output.weight.shape[0])):
                head = None
        _HEADS[model] = head
    return _HEADS[model]


def masked_lm_loss(model: PreTrainedModel, batch: Batch, projection: Projection = "masked") -> torch.Tensor:
    """Mean cross-entropy over the positions whose label is not -100 (Devlin et al. 2019).

    ``masked`` runs the encoder, keeps the hidden states of the labelled positions only and applies the MLM head
    to those rows: about 15% of the head's work, same loss. ``full`` is the model's own forward pass, which
    projects every position onto the vocabulary; it is also what ``masked`` does where the head is no one module
    (``mlm_head``: DistilBERT, ELECTRA, ModernBERT, XLM), which the masked rows could not be handed whole.
    """
    head = None if projection == "full" else mlm_head(model)
    if head is None:
        return model(**batch).loss
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    hidden = model.base_model(**inputs)[0]
    selected = batch["labels"] != -100
    logits = head(hidden[selected])
    return nn.functional.cross_entropy(logits.float(), batch["labels"][selected])


def training_step(
    model: PreTrainedModel,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    projection: Projection,
    max_grad_norm: float,
) -> torch.Tensor:
    """One optimizer step on ``batch`` with gradient clipping; returns the loss, detached (no device sync)."""
    loss = masked_lm_loss(model, batch, projection)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach()


def _model_and_tokenizer(config: PretrainConfig, folder: Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load ``config.init_from``, or train a tokenizer into ``folder`` and build a fresh model for it."""
    if config.init_from is not None:
        return _load_checkpoint(config.init_from, config.head_steps)
    tokenizer = train_tokenizer(config.monolingual_files(), config.tokenizer, config.vocab_size, folder)
    model = new_model(config.preset, len(tokenizer), tokenizer.pad_token_id, FAMILIES[config.tokenizer])
    return model, tokenizer


def _load_checkpoint(init_from: str, head_steps: int = 0) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Model and tokenizer from a local checkpoint folder or, when the name looks like one, the Hub. As
    `models.encoders.load_model` does, transformers' own warnings are silenced (`quiet_loading`) and one line on
    stderr names each module the checkpoint did not hold: an encoder saved without its masked-LM head (a sentence embedder such as
    multilingual-e5) starts that head from random weights, and the line says how to train it first unless
    ``head_steps`` already does."""
    folder = Path(init_from).expanduser()
    problem = check_model_spec(init_from)
    if problem:
        raise UserError(f"init_from: {problem}")
    source = str(folder) if folder.is_dir() else init_from
    quiet_loading()
    try:
        model, info = AutoModelForMaskedLM.from_pretrained(source, output_loading_info=True)
        tokenizer = AutoTokenizer.from_pretrained(source)
    except OSError as error:
        if folder.is_dir():
            raise UserError(f"could not load checkpoint folder {folder}: {str(error).splitlines()[0]}") from None
        raise UserError(
            f"init_from {init_from!r} is no local folder and could not be loaded from the Hugging Face Hub "
            "(offline?); pass the path of a downloaded checkpoint folder instead"
        ) from None
    advice = {} if head_steps else {name: HEAD_ADVICE for name, _ in head_children(model)}
    for line in new_module_lines(init_from, info, model.base_model_prefix, "none", advice):
        tqdm.write(line, file=sys.stderr)
    return model, tokenizer


def _train(
    model: PreTrainedModel, objectives: list[Objective], config: PretrainConfig, progress: bool
) -> dict[str, float]:
    """The optimisation loop; returns the statistics recorded in ``pretrain.json``."""
    device = pick_device(config.device)
    model.to(device).train()
    generator = torch.Generator().manual_seed(config.seed)
    texts = config.monolingual_files(), config.parallel
    streams = [obj.batches(obj.examples(*texts), config.batch_size, generator) for obj in objectives]
    head_loss = warm_up_head(model, streams, config, device, progress) if config.head_steps else None
    optimizer = adamw(model, config.learning_rate, config.weight_decay, eps=1e-6)
    budget_s = config.max_minutes * 60 if config.max_minutes is not None else math.inf
    steps, tokens, final_loss = 0, 0, math.nan
    window_loss, window_steps = torch.zeros((), device=device), 0
    rate = f"learning_rate ({config.learning_rate})"  # what to lower where the loss diverges
    bar = progress_bar(total=config.max_steps, unit="step", desc="pretrain", shown=progress)
    start = time.perf_counter()
    moved = False  # whether a step ran at a learning rate above 0
    while steps < config.max_steps and (elapsed := time.perf_counter() - start) < budget_s:
        batch = next(streams[steps % len(streams)])
        tokens += int(batch["attention_mask"].sum())
        done = max(steps / config.max_steps, elapsed / budget_s)
        factor = lr_factor(done, config.warmup_ratio)
        moved = moved or factor > 0
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * factor
        batch = {key: value.to(device) for key, value in batch.items()}
        window_loss += training_step(model, optimizer, batch, config.projection, config.max_grad_norm)
        steps, window_steps = steps + 1, window_steps + 1
        bar.update()
        if steps % LOG_EVERY == 0:
            final_loss = finite_loss((window_loss / window_steps).item(), f"pretrain, step {steps}", rate)
            window_loss.zero_()
            window_steps = 0
            bar.set_postfix(loss=f"{final_loss:.3f}")
    seconds = time.perf_counter() - start
    bar.close()
    if steps and not moved:  # one step fit in the time given, at the warm-up's learning rate 0
        raise UserError(
            f"{ONE_STEP_AT_ZERO.format(ratio=config.warmup_ratio)}; nothing was written to {config.out_dir}"
        )
    if window_steps:
        final_loss = finite_loss((window_loss / window_steps).item(), f"pretrain, step {steps}", rate)
    return {
        "steps": steps,
        "final_loss": final_loss,
        "tokens": tokens,
        "seconds": round(seconds, 3),
        "tokens_per_second": round(tokens / seconds, 1) if seconds else 0.0,
        **({"head_final_loss": head_loss} if head_loss is not None else {}),
    }


def warm_up_head(
    model: PreTrainedModel, streams: list[Iterator[Batch]], config: PretrainConfig, device: torch.device, progress: bool
) -> float:
    """Train the masked-LM head alone for ``config.head_steps`` steps at the constant ``head_learning_rate``, the
    encoder frozen, before the encoder itself trains: linear probing before fine-tuning (LP-FT, Kumar et al.
    2022), so that continued pretraining of an encoder published without its head (a random one) does not send
    the head's noise into the encoder. What trains is the head's own weights (for BERT its transform and output
    bias), not the word embeddings its output layer shares. Returns the mean loss of the last ``LOG_EVERY``
    steps."""
    encoder = list(model.base_model.parameters())
    trainable = [parameter.requires_grad for parameter in encoder]
    for parameter in encoder:
        parameter.requires_grad_(False)
    optimizer = adamw(model, config.head_learning_rate, config.weight_decay, eps=1e-6)
    losses = []
    for step in progress_bar(range(config.head_steps), unit="step", desc="pretrain: head", shown=progress):
        batch = {key: value.to(device) for key, value in next(streams[step % len(streams)]).items()}
        losses.append(training_step(model, optimizer, batch, config.projection, config.max_grad_norm))
    for parameter, was_trainable in zip(encoder, trainable):
        parameter.requires_grad_(was_trainable)
    rate = f"head_learning_rate ({config.head_learning_rate})"
    return finite_loss(torch.stack(losses[-LOG_EVERY:]).mean().item(), "pretrain: head", rate)


def _copy_vocab_file(tokenizer: PreTrainedTokenizerBase, folder: Path) -> None:
    """Copy the tokenizer's source vocabulary file (e.g. a SentencePiece ``.model``) into ``folder`` if missing."""
    vocab_file = getattr(tokenizer, "vocab_file", None)
    if vocab_file and Path(vocab_file).is_file() and not (folder / Path(vocab_file).name).exists():
        shutil.copy(vocab_file, folder / Path(vocab_file).name)


def _recorded_hash(out_dir: Path) -> str | None:
    """The config hash in ``out_dir/pretrain.json``, if that file exists and is readable."""
    try:
        return json.loads((out_dir / RECORD_FILE).read_text(encoding="utf-8")).get("config_hash")
    except (OSError, ValueError, AttributeError):
        return None
