"""SimAlign's settings (Jalili Sabet et al. 2020), checked where they are made. Torch-free, so that `validate`
checks an `align` method's aligner settings as the aligner would refuse them without loading it (issue 21,
"Start fast"); `word_aligner` runs them."""

from __future__ import annotations

from dataclasses import dataclass

from mbert_eval.errors import UserError

METHODS: tuple[str, ...] = ("argmax", "itermax", "match")
TOKEN_TYPES: tuple[str, ...] = ("bpe", "word")
DTYPE_NAMES: tuple[str, ...] = ("float32", "bfloat16")  # the encoder's weights (`word_aligner.DTYPES`)


@dataclass(frozen=True)
class WordAlignerConfig:
    """SimAlign settings (Jalili Sabet et al. 2020): model folder or Hub name, layer, matching methods."""

    model: str
    layer: int = 8
    methods: tuple[str, ...] = METHODS
    token_type: str = "bpe"
    batch_size: int = 32  # sequences (sentences or windows) per forward pass
    device: str = "auto"
    dtype: str = "float32"  # float32: simalign's links; bfloat16: faster, a few links differ
    skip_space_markers: bool = True  # leave bare `▁` pieces out of a word's units (SentencePiece vocabularies)

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            names = ", ".join(unknown) or "(none)"
            raise UserError(f"unknown alignment method(s) {names}; known: {', '.join(METHODS)}")
        if self.token_type not in TOKEN_TYPES:
            raise UserError(f"unknown token type {self.token_type!r}; known: {', '.join(TOKEN_TYPES)}")
        if self.dtype not in DTYPE_NAMES:
            raise UserError(f"unknown dtype {self.dtype!r}; known: {', '.join(DTYPE_NAMES)}")
        if self.layer < 0 or self.batch_size < 1:
            raise UserError(f"layer must be >= 0 and batch size >= 1, got {self.layer} and {self.batch_size}")
