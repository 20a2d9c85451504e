"""Train a subword tokenizer from corpus files and save it as a Hugging Face tokenizer folder.

Two recipes, one per model family:

* ``wordpiece``: the mBERT recipe (Devlin et al. 2019): cased BERT normalisation (no lowercasing, no accent
  stripping, CJK characters split), BERT pre-tokenisation, a WordPiece vocabulary and the
  ``[CLS] A [SEP] B [SEP]`` template with token types 0/1.
* ``unigram``: the XLM-R recipe (Conneau et al. 2020): a SentencePiece unigram LM (Kudo 2018) trained with the
  ``sentencepiece`` package, with fairseq's special-token layout ``<s>=0 <pad>=1 </s>=2 <unk>=3`` and ``<mask>``.

The transformers-5 way to load a SentencePiece model (``XLMRobertaTokenizer(vocab_file=...)``) needs ``protobuf``
to read the ``.model`` file, so the unigram tokenizer is built directly from the trained pieces and scores,
plus the model's precompiled normalisation map (read from the serialized proto with a few lines of wire-format
parsing). It tokenises exactly like ``sentencepiece`` does. The ``.model`` file is kept in the folder too.
Both folders reload with ``AutoTokenizer.from_pretrained(out_dir)`` as fast tokenizers.
"""

import io
from pathlib import Path
from typing import Literal

import sentencepiece as spm
from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import (
    AutoTokenizer,
    BertTokenizer,
    PreTrainedTokenizerBase,
    XLMRobertaTokenizer,
)

from mbert_eval.data.files import NOT_FOUND, read_text, text_file_problem
from mbert_eval.errors import DataError, UserError
from mbert_eval.models.unigram_tokenizer import precompiled_charsmap

TokenizerKind = Literal["wordpiece", "unigram"]
TOKENIZER_KINDS: tuple[str, ...] = ("wordpiece", "unigram")

WORDPIECE_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # ids 0..4, in this order
SPM_MODEL_FILE = "sentencepiece.bpe.model"  # XLM-R's file name for its SentencePiece model
SPM_MAX_SENTENCES = 2_000_000  # lines sampled (seeded) from the corpus to train the unigram model
SPM_SEED = 0  # sentencepiece's sampling seed: the same corpus always gives the same vocabulary
MODEL_MAX_LENGTH = 512  # what the saved tokenizers report; BERT and XLM-R both have 512 positions


def check_corpus(corpus: list[Path]) -> None:
    """Raise a one-line ``DataError`` unless every corpus path is an existing, non-empty UTF-8 text file."""
    if not corpus:
        raise UserError("no corpus files given: pass at least one plain-text file, one sentence per line")
    for path in corpus:
        problem = text_file_problem(path)  # a folder, a FIFO, UTF-16: said as such
        if problem is not None:
            raise DataError(path, "corpus file not found" if problem == NOT_FOUND else problem)
        if Path(path).stat().st_size == 0:
            raise DataError(path, "corpus file is empty")
        read_text(path)  # the whole file: invalid UTF-8 or NUL bytes said as such, with the line


def train_tokenizer(corpus: list[Path], kind: TokenizerKind, vocab_size: int, out_dir: Path) -> PreTrainedTokenizerBase:
    """Train a ``kind`` tokenizer of at most ``vocab_size`` entries on ``corpus``, save it to ``out_dir``, reload it.

    ``wordpiece`` follows mBERT (Devlin et al. 2019), ``unigram`` follows XLM-R (Conneau et al. 2020) with a
    SentencePiece unigram model (Kudo 2018). ``vocab_size`` counts the special tokens. A small corpus may yield
    fewer entries; ``len(tokenizer)`` of the returned (reloaded) tokenizer is the trained size.
    """
    check_corpus(corpus)
    if kind not in TOKENIZER_KINDS:
        raise UserError(f"unknown tokenizer kind {kind!r}; known: {', '.join(TOKENIZER_KINDS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if kind == "wordpiece":
        tokenizer = _train_wordpiece(corpus, vocab_size)
    else:
        tokenizer = _train_unigram(corpus, vocab_size, out_dir)
    tokenizer.save_pretrained(out_dir)
    return AutoTokenizer.from_pretrained(out_dir)


def _train_wordpiece(corpus: list[Path], vocab_size: int) -> BertTokenizer:
    """mBERT-cased WordPiece (Devlin et al. 2019): case and accents kept, CJK characters split.

    The same corpus always gives the same vocabulary and ids. The ``tokenizers`` trainer alone does not
    (huggingface/tokenizers#1794): it numbers the continuing-subword pieces (``##x``) in hash-map order and
    breaks ties between equally frequent merges by those numbers. Here every ``##x`` the corpus can hold gets
    a fixed id up front, in sorted order, by entering the trainer as a special token; the trained vocabulary
    then goes into a fresh WordPiece model whose only special tokens are BERT's.
    """
    normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
    )
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        special_tokens=WORDPIECE_SPECIAL_TOKENS + [f"##{c}" for c in _continuing_characters(corpus, normalizer)],
        show_progress=False,
    )
    trained = _bert_backend(models.WordPiece(unk_token="[UNK]"), normalizer)
    trained.train([str(path) for path in corpus], trainer)
    backend = _bert_backend(models.WordPiece(trained.get_vocab(), unk_token="[UNK]"), normalizer)
    backend.add_special_tokens(WORDPIECE_SPECIAL_TOKENS)
    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    # BertTokenizer rebuilds its normaliser from these flags on reload, so they must say "cased".
    return BertTokenizer(
        tokenizer_object=backend,
        do_lower_case=False,
        strip_accents=False,
        tokenize_chinese_chars=True,
        model_max_length=MODEL_MAX_LENGTH,
    )


def _bert_backend(model: models.WordPiece, normalizer: normalizers.BertNormalizer) -> Tokenizer:
    """A WordPiece tokenizer with BERT's normaliser, pre-tokeniser and decoder (Devlin et al. 2019)."""
    backend = Tokenizer(model)
    backend.normalizer = normalizer
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    return backend


def _continuing_characters(corpus: list[Path], normalizer: normalizers.BertNormalizer) -> list[str]:
    """The sorted characters of the normalised corpus that can continue a word: not whitespace, and not split
    off on their own by BERT's pre-tokeniser (punctuation) or normaliser (CJK)."""
    characters: set[str] = set()
    for path in corpus:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                characters.update(normalizer.normalize_str(line))
    words = pre_tokenizers.BertPreTokenizer()
    return sorted(c for c in characters if len(words.pre_tokenize_str(normalizer.normalize_str(c + c))) == 1)


def _train_unigram(corpus: list[Path], vocab_size: int, out_dir: Path) -> XLMRobertaTokenizer:
    """XLM-R SentencePiece unigram model (Conneau et al. 2020; Kudo 2018), saved as ``SPM_MODEL_FILE`` too."""
    model = io.BytesIO()
    spm.set_random_generator_seed(SPM_SEED)
    try:
        spm.SentencePieceTrainer.train(
            input=[str(path) for path in corpus],
            model_writer=model,
            model_type="unigram",
            vocab_size=vocab_size,
            hard_vocab_limit=False,  # a small corpus gives a smaller vocabulary instead of an error
            bos_id=0,
            pad_id=1,
            eos_id=2,
            unk_id=3,
            control_symbols=["<mask>"],
            input_sentence_size=SPM_MAX_SENTENCES,
            shuffle_input_sentence=True,
            minloglevel=2,
        )
    except RuntimeError as error:
        first_line = str(error).strip().splitlines()[0]
        raise UserError(f"sentencepiece could not train a {vocab_size}-piece unigram model: {first_line}") from None
    proto = model.getvalue()
    (out_dir / SPM_MODEL_FILE).write_bytes(proto)
    processor = spm.SentencePieceProcessor(model_proto=proto)
    pieces = [(processor.id_to_piece(i), processor.get_score(i)) for i in range(processor.get_piece_size())]
    return XLMRobertaTokenizer(
        vocab=pieces,
        _spm_precompiled_charsmap=precompiled_charsmap(proto),
        model_max_length=MODEL_MAX_LENGTH,
    )
