"""What one cell's fine-tuning runs with: the training config whole, the method (its fine-tuning options) and
the cell's seed, side by side rather than copied field by field into a second record."""

from __future__ import annotations

from dataclasses import dataclass, field

from mbert_eval.config.experiment import MethodConfig, TrainingConfig


@dataclass(frozen=True)
class FineTuning:
    """One cell's fine-tuning: `training` with its epochs resolved (task override, training config, task
    default; see `grid.cells.fine_tune_settings`), the `method` whose fine-tuning options apply
    (`training.options`), and the `seed` the head, dropout and batch order are drawn from."""

    training: TrainingConfig = field(default_factory=lambda: TrainingConfig(epochs=3))
    method: MethodConfig = field(default_factory=MethodConfig)
    seed: int = 1

    def __post_init__(self) -> None:
        if self.training.epochs is None:
            raise ValueError("FineTuning needs the epoch count resolved (training.epochs is None)")
