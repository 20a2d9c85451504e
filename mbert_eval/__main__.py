"""`python -m mbert_eval` is `mbert-eval` (where the console script is not on the path)."""

from mbert_eval.cli import main

main(prog_name="mbert-eval")
