"""What one cell's fine-tuning runs with: the training config whole, the method (its fine-tuning options) and
the cell's seed, side by side rather than copied field by field into a second record."""

from __future__ import annotations

from dataclasses import dataclass, field

from mbert_eval.config.experiment import MethodConfig, TrainingConfig, render_identity


@dataclass(frozen=True)
class FineTuning:
    """One cell's fine-tuning: `training` with its epochs resolved (a whole number: task override, training
    config, task default; see `grid.cells.fine_tune_settings`), the `method` whose fine-tuning options apply
    (`training.options`), and the `seed` the head, dropout and batch order are drawn from."""

    training: TrainingConfig = field(default_factory=lambda: TrainingConfig(epochs=3))
    method: MethodConfig = field(default_factory=MethodConfig)
    seed: int = 1

    def identity(self) -> str:
        """The record a cell's key holds for its fine-tuning: the training config's declared record
        (`config.experiment.Identity`), its epochs resolved, with the seed and the method's options it was first
        recorded with."""
        method = self.method
        options = {"freeze": method.freeze, "cache_frozen": method.cache_frozen, "layer_mix": method.layer_mix}
        return render_identity(self.training, seed=self.seed, **options)
