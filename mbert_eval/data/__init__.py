"""Data readers: every supported file format in, plain records out; malformed input raises DataError."""

from mbert_eval.data.alignments import (
    check_alignment_ranges,
    drop_out_of_range,
    index_base,
    pharaoh,
    read_gold_links,
    read_id_pharaoh,
    read_links_by_id,
    read_pharaoh,
    write_pharaoh,
)
from mbert_eval.data.checksums import checksums, file_checksum
from mbert_eval.data.conllu import read_conllu
from mbert_eval.data.hub import (
    HUB_SPEC_SYNTAX,
    parse_hub_spec,
    read_hub_pairs,
    read_hub_squad,
    read_hub_tagged,
)
from mbert_eval.data.ner import read_ner
from mbert_eval.data.pairs import read_sentence_pairs
from mbert_eval.data.parallel import (
    has_ids,
    read_id_sentences,
    read_parallel,
    read_parallel_bitext,
    read_word_pairs,
)
from mbert_eval.data.squad import read_squad, write_squad
from mbert_eval.data.types import (
    AlignmentLinks,
    Answer,
    MiningCorpus,
    ParallelPair,
    QAExample,
    SentencePair,
    TaggedSentence,
    read_lines,
)

__all__ = [
    "HUB_SPEC_SYNTAX",
    "AlignmentLinks",
    "Answer",
    "MiningCorpus",
    "QAExample",
    "ParallelPair",
    "SentencePair",
    "TaggedSentence",
    "check_alignment_ranges",
    "drop_out_of_range",
    "index_base",
    "checksums",
    "file_checksum",
    "parse_hub_spec",
    "read_conllu",
    "read_gold_links",
    "read_hub_pairs",
    "read_hub_squad",
    "read_hub_tagged",
    "read_id_pharaoh",
    "read_links_by_id",
    "read_id_sentences",
    "read_lines",
    "read_ner",
    "read_parallel",
    "read_parallel_bitext",
    "read_word_pairs",
    "has_ids",
    "read_pharaoh",
    "read_sentence_pairs",
    "read_squad",
    "pharaoh",
    "write_pharaoh",
    "write_squad",
]
