"""Word alignment from any encoder, batched SimAlign (Jalili Sabet et al. 2020): `word_aligner` (WordAligner) and
its settings, `settings` (WordAlignerConfig: torch-free, so `validate` checks them). Used by the `alignment` task,
the `align` method step and `mbert-eval align`."""
