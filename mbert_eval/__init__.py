"""mbert-eval: zero-shot cross-lingual transfer evaluation for multilingual encoders."""

__version__ = "0.1.0"
