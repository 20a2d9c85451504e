"""The language table (languages.tsv), installed as package data `mbert_eval.language_table`."""
