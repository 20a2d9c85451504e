"""Synthetic language families for offline runs and controlled transfer studies: the shared grammar
(`grammar`: sentences, meanings, rewrites, realization), the family generator (`family`: SynthConfig,
generate_family, the files it writes) and its extractive QA (`qa`: contexts of generated sentences, templated
questions whose answers are spans, the same questions in every language)."""
