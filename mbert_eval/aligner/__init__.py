"""Word alignment from any encoder, batched SimAlign (Jalili Sabet et al. 2020): `word_aligner` (WordAligner,
WordAlignerConfig). Used by the `alignment` task, the `align` method step and `mbert-eval align`."""
