"""Data readers on the real files in ../shared/data and on small malformed files written to tmp_path."""

import hashlib
import os
import re
from pathlib import Path

import pytest

from mbert_eval.data import (
    AlignmentLinks,
    TaggedSentence,
    check_alignment_ranges,
    checksums,
    file_checksum,
    read_conllu,
    read_id_pharaoh,
    read_id_sentences,
    read_ner,
    read_parallel,
    read_parallel_bitext,
    read_pharaoh,
    read_sentence_pairs,
    write_pharaoh,
)
from mbert_eval.errors import DataError

UPOS = {
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
}
NLI_LABELS = {"entailment", "neutral", "contradiction"}


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write a small test file and return its path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def conllu_line(word_id: str, form: str, upos: str = "NOUN") -> str:
    """One 10-column CoNLL-U line."""
    return "\t".join([word_id, form, form, upos, "_", "_", "0", "root", "_", "_"]) + "\n"


# --- real files -------------------------------------------------------------------------------


def test_conllu_german_pud(shared_data: Path) -> None:
    sentences = read_conllu(shared_data / "ud/pud/de_pud-ud-test.conllu")
    assert len(sentences) == 1000
    assert {tag for sentence in sentences for tag in sentence.tags} <= UPOS


def test_conllu_spanish_multiword_token_keeps_syntactic_words(shared_data: Path) -> None:
    first = read_conllu(shared_data / "ud/pud/es_pud-ud-test.conllu")[0]
    assert "del" not in first.tokens
    start = first.tokens.index("Especial")
    assert first.tokens[start : start + 4] == ("Especial", "de", "el", "presidente")
    assert first.tags[start + 1 : start + 3] == ("ADP", "DET")


def test_conllu_empty_nodes_skipped(shared_data: Path) -> None:
    sentences = read_conllu(shared_data / "ud/pud/en_pud-ud-test.conllu")
    yazidi = next(sentence for sentence in sentences if "Yazidi" in sentence.tokens)
    assert yazidi.tokens.count("started") == 1


def test_conllu_english_lines_train_reads_every_sentence(shared_data: Path) -> None:
    sentences = read_conllu(shared_data / "ud/en/en_lines-ud-train.conllu")
    assert len(sentences) == 3457 and all(len(s.tokens) == len(s.tags) > 0 for s in sentences)


def test_ner_wikiann_prefix_stripped(shared_data: Path) -> None:
    sentences = read_ner(shared_data / "wikiann/en/dev")
    assert len(sentences) == 10000
    assert sentences[0] == TaggedSentence(
        ("Sioux", "Falls", "Arena", "(", "Sioux", "Falls", ",", "South", "Dakota", ")"),
        ("B-ORG", "I-ORG", "I-ORG", "O", "B-LOC", "I-LOC", "I-LOC", "I-LOC", "I-LOC", "O"),
    )
    tokens = [token for sentence in sentences for token in sentence.tokens]
    assert not any(token.startswith("en:") for token in tokens)
    assert "bar:24" in tokens  # en:bar:24 loses only the language prefix


def test_xnli_dev_labeled_and_test_unlabeled(shared_data: Path) -> None:
    dev = read_sentence_pairs(shared_data / "xnli/dev-de.tsv")
    assert len(dev) == 2490
    assert {pair.label for pair in dev} == NLI_LABELS
    assert dev[0].first == "und er hat gesagt, Mama ich bin daheim."
    test = read_sentence_pairs(shared_data / "xnli/test-de.unlabeled.tsv")
    assert len(test) == 5010
    assert {pair.label for pair in test} == {None}


def test_xnli_test_read_as_labeled_fails_on_line_one(shared_data: Path) -> None:
    path = shared_data / "xnli/test-de.unlabeled.tsv"
    with pytest.raises(DataError, match=r"test-de\.unlabeled\.tsv:1: expected 3 tab-separated columns, found 2$"):
        read_sentence_pairs(path, labeled=True)


def test_pawsx_dev_and_test(shared_data: Path) -> None:
    dev = read_sentence_pairs(shared_data / "pawsx/dev-de.tsv")
    assert len(dev) == 2000
    assert {pair.label for pair in dev} == {"0", "1"}
    assert dev[114].first.startswith('Siebenberg bezeichnete ihn als seinen Lieblingssong auf dem Album ", weil')
    test = read_sentence_pairs(shared_data / "pawsx/test-de.unlabeled.tsv", labeled=False)
    assert len(test) == 2000 and test[0].label is None


def test_tatoeba_parallel(shared_data: Path) -> None:
    pairs = read_parallel(shared_data / "tatoeba/tatoeba.deu-eng.deu", shared_data / "tatoeba/tatoeba.deu-eng.eng")
    assert len(pairs) == 1000
    assert pairs[0].source == "Maria sagte, sie wisse nicht, wo Tom sei."
    assert pairs[0].target == "Mary said she didn't know where Tom was."


def test_awesome_align_gold_is_converted_from_one_indexed(shared_data: Path) -> None:
    folder = shared_data / "alignment/awesome-align"
    pairs = read_parallel_bitext(folder / "enfr.src-tgt")
    gold = read_pharaoh(folder / "enfr.gold", one_indexed=True)
    assert len(pairs) == len(gold) == 447
    assert pairs[2].source == "oh , oh !" and pairs[2].target == "oh , oh !"
    assert gold[0] == AlignmentLinks(frozenset({(0, 0), (1, 1)}), frozenset({(0, 0), (1, 1)}))
    assert sum(len(links.sure) for links in gold) == 4038
    assert sum(len(links.possible - links.sure) for links in gold) == 13400
    lengths = [(len(pair.source.split()), len(pair.target.split())) for pair in pairs]
    check_alignment_ranges(gold, lengths, folder / "enfr.gold")


def test_simalign_sample_is_zero_indexed(shared_data: Path) -> None:
    folder = shared_data / "alignment/simalign"
    english = read_id_sentences(folder / "sample_eng.txt")
    german = read_id_sentences(folder / "sample_deu.txt")
    rows = read_id_pharaoh(folder / "sample_eng_deu.gold")
    gold = [links for _, links in rows]
    assert [sentence_id for sentence_id, _ in english] == [sentence_id for sentence_id, _ in rows] == list("01234")
    assert english[1] == ("1", "But this is not what happens .")
    assert len(gold) == 5
    assert (0, 0) in gold[0].sure and (19, 25) in gold[2].possible - gold[2].sure
    lengths = [(len(en.split()), len(de.split())) for (_, en), (_, de) in zip(english, german)]
    check_alignment_ranges(gold, lengths, folder / "sample_eng_deu.gold")


# --- CoNLL-U errors and edge cases -----------------------------------------------------------------


def test_conllu_skips_comments_multiwords_and_empty_nodes(tmp_path: Path) -> None:
    text = (
        "# sent_id = 1\n"
        + conllu_line("1-2", "del", "_")
        + conllu_line("1", "de", "ADP")
        + conllu_line("2", "el", "DET")
    )
    text += conllu_line("2.1", "x", "X") + "\n" + conllu_line("1", "Hola", "INTJ")  # no final blank line
    assert read_conllu(write(tmp_path, "a.conllu", text)) == [
        TaggedSentence(("de", "el"), ("ADP", "DET")),
        TaggedSentence(("Hola",), ("INTJ",)),
    ]


def test_conllu_wrong_column_count_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.conllu", "# c\n" + conllu_line("1", "a") + "2\tb\tb\tNOUN\n")
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:3: expected 10 tab-separated columns, found 4$"):
        read_conllu(path)


def test_conllu_non_integer_id(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.conllu", conllu_line("1", "a") + conllu_line("x", "b"))
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:2: word id 'x'"):
        read_conllu(path)


def test_conllu_word_ids_out_of_order_are_refused(tmp_path: Path) -> None:
    """A blank line missing between two sentences merged them silently (one sentence fewer, every later one shifted
    against its translations); ids that skip one are as malformed."""
    merged = conllu_line("1", "The") + conllu_line("2", "cat") + conllu_line("1", "A") + "\n" + conllu_line("1", "B")
    path = write(tmp_path, "merged.conllu", merged)
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:3: word id 1 follows 2: ids run 1, 2, …"):
        read_conllu(path)
    path = write(tmp_path, "skips.conllu", "# c\n" + conllu_line("1", "a") + conllu_line("3", "b"))
    with pytest.raises(DataError, match=r":3: word id 3 follows 1"):
        read_conllu(path)
    after_a_comment = "# s1\n" + conllu_line("1", "a") + "\n# s2\n" + conllu_line("1", "b") + conllu_line("2", "c")
    assert [s.tokens for s in read_conllu(write(tmp_path, "fine.conllu", after_a_comment))] == [("a",), ("b", "c")]


def test_conllu_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.conllu", "# only a comment\n\n")
    with pytest.raises(DataError, match="no sentences"):
        read_conllu(path)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.conllu: cannot read file"):
        read_conllu(tmp_path / "nope.conllu")


def test_lines_ended_by_a_carriage_return_alone_are_named_as_such(tmp_path: Path) -> None:
    """A CoNLL-U file saved with classic Mac OS line ends was one line, a comment: "no sentences found (empty
    file?)" for a file of 2 sentences."""
    path = tmp_path / "mac.conllu"
    text = "# sent_id = 1\n1\tA\ta\tDET\t_\t_\t0\troot\t_\t_\n\n# sent_id = 2\n1\tB\tb\tNOUN\t_\t_\t0\troot\t_\t_\n"
    path.write_bytes(text.replace("\n", "\r").encode())
    with pytest.raises(DataError, match="its lines end in a carriage return alone"):
        read_conllu(path)
    path.write_bytes(text.replace("\n", "\r\n").encode())  # CRLF reads
    assert len(read_conllu(path)) == 2


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.tsv"
    path.write_bytes("a\tb\tc\nd\t\xe9\tc\n".encode("latin-1"))
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:2: not valid UTF-8"):
        read_sentence_pairs(path)


# --- NER ----------------------------------------------------------------------------------------


def test_ner_conll2003_columns_docstart_and_crlf(tmp_path: Path) -> None:
    text = "-DOCSTART- -X- -X- O\r\n\r\nEU NNP B-NP B-ORG\r\nrejects VBZ B-VP O\r\n\r\nbar:24 O\r\n"
    assert read_ner(write(tmp_path, "conll.txt", text)) == [
        TaggedSentence(("EU", "rejects"), ("B-ORG", "O")),
        TaggedSentence(("bar:24",), ("O",)),  # no shared language prefix: nothing stripped
    ]


def test_ner_prefix_needs_text_after_colon(tmp_path: Path) -> None:
    text = "fr:Paris\tB-LOC\nfr:\tO\nfr:http://x\tO\n"
    assert read_ner(write(tmp_path, "wikiann", text))[0].tokens == ("Paris", "fr:", "http://x")


@pytest.mark.parametrize("prefix", ["zh-yue", "bat-smg", "be-x-old", "zh-min-nan", "simple"])
def test_ner_hyphenated_and_longer_language_prefixes_are_stripped(tmp_path: Path, prefix: str) -> None:
    """WikiANN's codes include `zh-yue`, `bat-smg`, `be-x-old`, `zh-min-nan` and `simple` (Simple English); HF's
    wikiann loader takes everything before a token's first ':' as its language."""
    text = f"{prefix}:香港\tB-LOC\n{prefix}:http://x\tO\n\n{prefix}:九龍\tB-LOC\n"
    assert [s.tokens for s in read_ner(write(tmp_path, "wikiann", text))] == [("香港", "http://x"), ("九龍",)]


@pytest.mark.parametrize("text", ["http://a.org\tO\nhttp://b.org\tO\n", "10:30\tO\n\n10:45\tO\n"])
def test_ner_tokens_with_a_colon_but_no_language_prefix_are_kept(tmp_path: Path, text: str) -> None:
    tokens = [token for sentence in read_ner(write(tmp_path, "conll.txt", text)) for token in sentence.tokens]
    assert tokens == [line.split("\t")[0] for line in text.splitlines() if line]


def test_ner_bad_tag(tmp_path: Path) -> None:
    path = write(tmp_path, "bad", "Paris\tB-LOC\nis\tO\n\nBerlin\tLOC\n")
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:4: tag 'LOC' is not BIO-shaped"):
        read_ner(path)


def test_ner_missing_tag_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r":1: expected a token and a tag"):
        read_ner(write(tmp_path, "one", "Paris\n"))
    with pytest.raises(DataError, match="no sentences"):
        read_ner(write(tmp_path, "empty", "\n\n"))


# --- sentence pairs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "premise\thypothesis\tlabel",
        "premise\thypo\tlabel",  # XNLI-MT-1.0's multinli/multinli.train.*.tsv
        "sentence1\tsentence2\tlabel",
        "id\tsentence1\tsentence2\tlabel",
    ],
)
def test_pairs_header_skipped(tmp_path: Path, header: str) -> None:
    row = "7\tA\tB\t1" if header.startswith("id") else "A\tB\t1"
    path = write(tmp_path, "h.tsv", f"{header}\n{row}\n")
    assert [(p.first, p.second, p.label) for p in read_sentence_pairs(path)] == [("A", "B", "1")]


def test_pairs_xnli_mt_contradictory_is_contradiction(tmp_path: Path) -> None:
    """XNLI-MT's translated MultiNLI training files spell the label `contradictory`, XNLI's dev and test files
    `contradiction`: read as written, training would have a class the test labels never use."""
    text = "premise\thypo\tlabel\nA\tB\tcontradictory\nC\tD\tContradictory\nE\tF\tneutral\n"
    labels = [pair.label for pair in read_sentence_pairs(write(tmp_path, "multinli.train.de.tsv", text))]
    assert labels == ["contradiction", "contradiction", "neutral"]


def test_pairs_wrong_column_count(tmp_path: Path) -> None:
    path = write(tmp_path, "p.tsv", "a\tb\tneutral\nc\td\n")
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:2: expected 3 tab-separated columns, found 2$"):
        read_sentence_pairs(path)


def test_pairs_unlabeled_header_with_labels_requested(tmp_path: Path) -> None:
    path = write(tmp_path, "p.tsv", "sentence1\tsentence2\nA\tB\n")
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:1: header lacks a label column"):
        read_sentence_pairs(path, labeled=True)


def test_pairs_empty_file_and_empty_field(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no sentence pairs"):
        read_sentence_pairs(write(tmp_path, "e.tsv", ""))
    with pytest.raises(DataError, match=r":1: empty column 2"):
        read_sentence_pairs(write(tmp_path, "f.tsv", "A\t\tneutral\n"))
    # a row of empty fields was skipped as a blank line, shifting every later row against its translations
    with pytest.raises(DataError, match=r":2: empty column 1"):
        read_sentence_pairs(write(tmp_path, "g.tsv", "a\tb\tneutral\n\t\t\nc\td\tentailment\n"))


# --- parallel text ------------------------------------------------------------------------------


def test_parallel_line_counts_differ_names_both_files(tmp_path: Path) -> None:
    source = write(tmp_path, "x.deu", "a\nb\nc\n")
    target = write(tmp_path, "x.eng", "a\nb\n")
    with pytest.raises(DataError) as caught:
        read_parallel(source, target)
    message = str(caught.value)
    assert str(source) in message and str(target) in message and "3 lines" in message and "2 lines" in message
    assert "\n" not in message


def test_parallel_empty_line(tmp_path: Path) -> None:
    source = write(tmp_path, "x.deu", "a\n \nc\n")
    target = write(tmp_path, "x.eng", "a\nb\nc\n")
    with pytest.raises(DataError, match=rf"^{re.escape(str(source))}:2: empty line"):
        read_parallel(source, target)


def test_bitext_needs_separator(tmp_path: Path) -> None:
    path = write(tmp_path, "b.txt", "a b ||| c d\na b c d\n")
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:2: expected exactly one '\|\|\|' separator"):
        read_parallel_bitext(path)
    with pytest.raises(DataError, match=r":1: empty target side"):
        read_parallel_bitext(write(tmp_path, "c.txt", "a b |||\n"))


def test_id_sentences_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r":2: expected an id and a sentence"):
        read_id_sentences(write(tmp_path, "s.txt", "0\tHello .\nno id here\n"))
    with pytest.raises(DataError, match=r":2: duplicate id '0' \(first on line 1\)"):
        read_id_sentences(write(tmp_path, "t.txt", "0\tHello .\n0\tHi .\n"))


# --- alignments ---------------------------------------------------------------------------------


def test_pharaoh_bad_token(tmp_path: Path) -> None:
    path = write(tmp_path, "g.txt", "0-0 1p1\n0-0 1:1\n")
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:2: malformed link '1:1'"):
        read_pharaoh(path)


def test_pharaoh_one_indexed_zero(tmp_path: Path) -> None:
    path = write(tmp_path, "g.txt", "1-1\n0-2\n")
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:2: link '0-2' has index 0"):
        read_pharaoh(path, one_indexed=True)


def test_pharaoh_ids_need_tab(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r":1: expected an id and the links"):
        read_id_pharaoh(write(tmp_path, "g.txt", "0 0-0\n"))
    with pytest.raises(DataError, match=r":3: duplicate id '0' \(first on line 1\)$"):
        read_id_pharaoh(write(tmp_path, "d.txt", "0\t0-0\n1\t0-0\n0\t1-1\n"))


def test_id_gold_links_are_matched_to_the_sentences_by_id(tmp_path: Path) -> None:
    """SimAlign's own scorer (scripts/calc_align_score.py) matches gold lines to sentences by id; read in file
    order, a gold file in another order gave each pair another pair's links (caught only where lengths differ)."""
    from mbert_eval.data import read_gold_links

    gold = write(tmp_path, "swapped.gold", "b\t0-2 1-1 2-0\na\t0-0 1-1 2-2\n")
    links = read_gold_links(gold, [(3, 3), (3, 3)], one_indexed=False, ids=["a", "b"])
    assert [sorted(pair.sure) for pair in links] == [[(0, 0), (1, 1), (2, 2)], [(0, 2), (1, 1), (2, 0)]]
    assert read_gold_links(gold, [(3, 3), (3, 3)], ids=["a", "b"]) == links  # index base read off the same order


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\t0-0\n", r"swapped.gold: no links for id 'b' of the sentence files \(one line for each of its ids\)"),
        ("a\t0-0\nb\t0-0\nc\t0-0\n", r"swapped.gold:3: id 'c' is not an id of the sentence files$"),
    ],
)
def test_id_gold_links_for_other_ids_are_refused(tmp_path: Path, text: str, message: str) -> None:
    from mbert_eval.data import read_gold_links

    with pytest.raises(DataError, match=message):
        read_gold_links(write(tmp_path, "swapped.gold", text), [(1, 1), (1, 1)], one_indexed=False, ids=["a", "b"])


def test_alignment_out_of_range_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "g.txt", "0-0 1-1\n\n2p0\n")
    links = read_pharaoh(path)
    assert links[1] == AlignmentLinks(frozenset(), frozenset())
    with pytest.raises(
        DataError,
        match=rf"^{re.escape(str(path))}:3: link 2-0 \(0-indexed\) is out of range for a pair of 2 source and 3 target",
    ):
        check_alignment_ranges(links, [(2, 2), (1, 1), (2, 3)], path)
    with pytest.raises(DataError, match="3 alignment lines, but 2 sentence pairs"):
        check_alignment_ranges(links, [(2, 2), (1, 1)], path)


def test_write_pharaoh_round_trip(tmp_path: Path) -> None:
    links = [
        AlignmentLinks(frozenset({(2, 1), (0, 0)}), frozenset({(2, 1), (0, 0), (1, 3)})),
        AlignmentLinks(frozenset(), frozenset()),
    ]
    path = tmp_path / "out.gold"
    write_pharaoh(path, links)
    assert path.read_text(encoding="utf-8") == "0-0 1p3 2-1\n\n"
    assert read_pharaoh(path) == links


# --- checksums ----------------------------------------------------------------------------------


def test_checksums_follow_file_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "hello\n")
    assert file_checksum(path) == hashlib.sha256(b"hello\n").hexdigest()
    path.write_text("hello, world\n", encoding="utf-8")
    os.utime(path, ns=(0, 10**18))
    assert checksums([path]) == {str(path): hashlib.sha256(b"hello, world\n").hexdigest()}
    with pytest.raises(DataError, match="missing.txt: cannot read file"):
        file_checksum(tmp_path / "missing.txt")


def test_gold_links_index_base_is_read_off_the_file(tmp_path: Path) -> None:
    from mbert_eval.data import read_gold_links

    lengths = [(3, 3), (2, 2)]
    zero, one, unclear = tmp_path / "zero.align", tmp_path / "one.align", tmp_path / "unclear.align"
    zero.write_text("0-0 1-1 2p2\n1-1\n")
    one.write_text("1-1 2-2 3p3\n2-2\n")  # 3 = the first sentence's length: only possible counting from 1
    unclear.write_text("1-1\n1-1\n")  # neither an index 0 nor one at a sentence's end
    assert read_gold_links(zero, lengths)[0].sure == {(0, 0), (1, 1)}
    assert read_gold_links(one, lengths) == read_gold_links(zero, lengths)
    with pytest.raises(DataError, match="cannot tell whether the links count words from 0 or from 1"):
        read_gold_links(unclear, lengths)
    assert read_gold_links(unclear, lengths, one_indexed=True)[0].sure == {(0, 0)}
    with pytest.raises(DataError, match="out of range"):
        read_gold_links(one, lengths, one_indexed=False)


def test_real_gold_sets_are_detected_correctly(shared_data: Path) -> None:
    from mbert_eval.data import read_gold_links

    enfr = [
        (len(p.source.split()), len(p.target.split()))
        for p in read_parallel_bitext(shared_data / "alignment/awesome-align/enfr.src-tgt")
    ]
    detected = read_gold_links(shared_data / "alignment/awesome-align/enfr.gold", enfr)
    assert detected == read_pharaoh(shared_data / "alignment/awesome-align/enfr.gold", one_indexed=True)


def test_tagged_sentences_say_where_each_token_was_read(tmp_path: Path) -> None:
    """Each token's file and line (for messages such as a tag training never has), kept when WikiANN's language
    prefix is stripped; not part of a sentence's equality."""
    path = tmp_path / "ner.txt"
    path.write_text("-DOCSTART-\tO\n\nen:Paris\tB-LOC\nen:is\tO\n\nen:Rome\tB-LOC\n", encoding="utf-8")
    first, second = read_ner(path)
    assert first.tokens == ("Paris", "is") and first.where(1) == f"{path}:4" and second.where(0) == f"{path}:6"
    assert first == TaggedSentence(("Paris", "is"), ("B-LOC", "O")) and TaggedSentence(("a",), ("X",)).where(0) == ""
