"""The ``tlm`` method step: continued pretraining of an encoder with translation LM (Conneau & Lample 2019).

A thin entry point over ``pretrain``: the output is a Hugging Face folder that ``AutoModel.from_pretrained``
loads for fine-tuning (its masked-LM head is saved too but not used downstream).
"""

from __future__ import annotations

from pathlib import Path

from mbert_eval.config.experiment import TLMConfig
from mbert_eval.pretraining.loop import PretrainConfig, pretrain


def tlm_encoder(
    base: str,
    out_dir: Path,
    parallel: list[tuple[Path, Path]],
    settings: TLMConfig,
    seed: int,
    progress: bool = True,
    device: str = "auto",
) -> Path:
    """Continue pretraining ``base`` with translation LM (Conneau & Lample 2019) on the line-aligned
    ``parallel`` (source file, target file) pairs, mixed with MLM on each side of them (Devlin et al. 2019)
    when ``settings.mix_mlm``, on ``device``, after ``settings.head_steps`` steps that train the masked-LM head
    alone (LP-FT, Kumar et al. 2022); write the result to ``out_dir`` and return it.

    A folder already written by the same settings and files is reused (``pretrain``'s config hash).
    """
    config = PretrainConfig(
        corpus=[],
        out_dir=Path(out_dir),
        init_from=base,
        objectives=("mlm", "tlm") if settings.mix_mlm else ("tlm",),
        parallel=parallel,
        max_steps=settings.steps,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        max_length=settings.max_length,
        seed=seed,
        device=device,
        head_steps=settings.head_steps,
        head_learning_rate=settings.head_learning_rate,
    )
    return pretrain(config, progress=progress)
