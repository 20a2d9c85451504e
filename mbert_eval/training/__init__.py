"""Fine-tuning: what a cell fine-tunes with (`fine_tuning`: FineTuning), the one training loop and the one
evaluation loop (`loop`: fine_tune, predict), the fine-tuning options (`options`: freeze, layer_mix,
cache_frozen, one file each), batches with dynamic padding (`batches`), the one optimizer and learning-rate rule
every loop uses (`optim`), the frozen-prefix cache (`frozen_cache`), scalar-mix heads (`scalar_mix`) and linear
probes on frozen states, one per layer (`probes`)."""
