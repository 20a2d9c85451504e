"""`cache_frozen: true`: with `freeze`, the frozen layers' outputs are computed once and reused across epochs
(`training/frozen_cache.py`). They are computed without dropout (once, so with no mask to redraw), where `freeze`
alone trains with dropout in the frozen layers too: the scores differ a little, and the two are keyed apart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from mbert_eval.training.options.base import FineTuningOption

if TYPE_CHECKING:
    import torch

    from mbert_eval.config.experiment import MethodConfig
    from mbert_eval.training.batches import Features
    from mbert_eval.training.fine_tuning import FineTuning
    from mbert_eval.training.frozen_cache import FrozenPrefixCache


class CacheFrozen(FineTuningOption):
    name = "cache_frozen"
    fields = ("cache_frozen",)
    spelling = "cache_frozen"  # a mapping key only (`cache_frozen: true`)
    summary = (
        "`cache_frozen: true` with freeze: the frozen layers run once (without dropout), their outputs reused across"
        " epochs"
    )

    def problems(self, method: MethodConfig, depths: Mapping[str, int | None]) -> list[str]:
        if not method.cache_frozen:
            return []
        if method.layer_mix:
            return ["cache_frozen cannot be combined with layer_mix (the mix reads the frozen layers)"]
        if method.freeze <= 0:
            return ["cache_frozen needs freeze (there is no frozen layer to cache)"]
        return []

    def prefix_cache(
        self,
        model: torch.nn.Module,
        features: list[Features],
        pad_id: int,
        device: torch.device,
        fine_tuning: FineTuning,
    ) -> FrozenPrefixCache | None:
        from mbert_eval.training.frozen_cache import FrozenPrefixCache

        freeze = fine_tuning.method.freeze
        if freeze <= 0:
            return None
        return FrozenPrefixCache(model, freeze, features, pad_id, device, fine_tuning.training.eval_batch_size)
