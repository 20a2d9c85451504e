"""`python -m mbert_eval.cli`: the same as the `mbert-eval` command."""

from mbert_eval.cli import main

main()
