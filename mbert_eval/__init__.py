"""mbert-eval: zero-shot cross-lingual transfer evaluation for multilingual encoders.

The Python API (`mbert_eval.api`): `run(config, **overrides)` runs an experiment as `mbert-eval run` does and
returns its `Results` (`.to_dataframe()`, `.store`, `.summary`, `.report`); `load_results(store)` reads a results
store as a pandas DataFrame; a problem the user can fix raises `UserError` with the command line's one-line message.
They are imported when first used: `import mbert_eval` imports no torch.
"""

from typing import Any

from mbert_eval.errors import UserError

__version__ = "0.1.0"
__all__ = ["Results", "UserError", "load_results", "run"]

_API = ("Results", "load_results", "run")


def __getattr__(name: str) -> Any:
    """`run`, `load_results` and `Results`, from `mbert_eval.api` on first use."""
    if name in _API:
        from mbert_eval import api

        return getattr(api, name)
    raise AttributeError(f"module 'mbert_eval' has no attribute {name!r}")
