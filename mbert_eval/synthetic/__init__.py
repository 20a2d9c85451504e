"""Synthetic language families for offline runs and controlled transfer studies: the shared grammar
(`grammar`: sentences, meanings, rewrites, realization) and the family generator (`family`: SynthConfig,
generate_family, the files it writes)."""
