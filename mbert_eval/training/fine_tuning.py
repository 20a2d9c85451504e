"""What one cell's fine-tuning runs with: the training config whole, the method (its fine-tuning options) and
the cell's seed, side by side rather than copied field by field into a second record."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from mbert_eval.config.experiment import MethodConfig, TrainingConfig

# the training fields that came before the seed in the record cell keys were first recorded with
_KEYED_BEFORE_SEED = 8


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

    def __repr__(self) -> str:
        """The text cell keys hash, as they recorded it (tests/store/test_compat.py): the training config's
        keyed fields with the seed and the options that keys held from the start after `eval_batch_size`.
        Fields added later (`repr=False`, `KEYED_WHEN_SET`) join keys through `keyed_when_set` instead."""
        training = [(item.name, getattr(self.training, item.name)) for item in fields(self.training) if item.repr]
        options = [
            (item.name, getattr(self.method, item.name))
            for item in fields(self.method)
            if item.repr and item.name not in ("name", "chain")
        ]
        shown = [*training[:_KEYED_BEFORE_SEED], ("seed", self.seed), *options, *training[_KEYED_BEFORE_SEED:]]
        return f"FineTuneSettings({', '.join(f'{name}={value!r}' for name, value in shown)})"
