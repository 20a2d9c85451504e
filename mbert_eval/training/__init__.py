"""Fine-tuning: the one training loop and the one evaluation loop (`loop`: FineTuneSettings, fine_tune,
predict), batches with dynamic padding (`batches`), the one optimizer and learning-rate rule every loop uses
(`optim`), the frozen-prefix cache (`frozen_cache`) and scalar-mix heads (`scalar_mix`)."""
