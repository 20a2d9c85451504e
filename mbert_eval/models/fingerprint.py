"""What a model spec's content is, so that a stored score can be checked against the model it was computed
with: a local folder by the SHA-256 of its config, weights and tokenizer files (not its model card or other
files), a Hub name by the commit its local cache resolves it to, else by the name itself."""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

from mbert_eval.config.experiment import stable_hash
from mbert_eval.data.checksums import file_checksum

# what `from_pretrained` reads: config, weights (single or sharded, with their index) and tokenizer files
CONTENT_FILES = (
    "config.json",
    "*.safetensors",
    "*.safetensors.index.json",
    "pytorch_model*.bin",
    "pytorch_model*.bin.index.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "*.model",
)


def content_files(folder: Path) -> list[Path]:
    """The files of a model folder that decide what it computes, sorted by name."""
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and any(fnmatch(path.name, pattern) for pattern in CONTENT_FILES)
    )


def hub_revision(name: str) -> str | None:
    """The commit the local Hugging Face cache resolves a Hub model name to (its `refs/main`), or None when
    the cache does not hold it; asks no network."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    ref = Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=name, repo_type="model") / "refs" / "main"
    try:
        return ref.read_text(encoding="utf-8").strip() or None
    except (OSError, ValueError):
        return None


def model_fingerprint(spec: str) -> str:
    """A model spec's content: a short SHA-256 over a local folder's content files (each hashed once per size and
    mtime, see `data.checksums`), `NAME@COMMIT` for a Hub name its local cache resolves, else the name."""
    folder = Path(spec).expanduser()
    if folder.is_dir():
        return stable_hash({path.name: file_checksum(path) for path in content_files(folder)})
    revision = hub_revision(spec)
    return f"{spec}@{revision}" if revision else spec


def knows_content(fingerprint: str | None, spec: str) -> bool:
    """Whether a fingerprint says anything about content: a row that recorded none (an older store) or only
    the model's name (a Hub name not in the cache) does not."""
    return bool(fingerprint) and fingerprint != spec
