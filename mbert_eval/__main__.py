"""`python -m mbert_eval` is `mbert-eval` (where the console script is not on the path)."""

if __name__ == "__main__":  # imported (by a documentation tool, a spawned process), it runs nothing
    from mbert_eval.cli import main

    main(prog_name="mbert-eval")
