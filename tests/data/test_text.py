"""Plain-text extraction for pretraining corpora (`mbert-eval text`)."""

from click.testing import CliRunner

from mbert_eval.cli import main
from mbert_eval.data.text import detect_format, extract_text


def test_formats(tmp_path):
    conllu = tmp_path / "a.conllu"
    conllu.write_text(
        "# text = Hallo Welt.\n1\tHallo\t_\tINTJ\t_\t_\t0\troot\t_\t_\n2\tWelt\t_\tNOUN\t_\t_\t1\tx\t_\t_\n"
        "3\t.\t_\tPUNCT\t_\t_\t1\tpunct\t_\t_\n\n"
    )
    pairs = tmp_path / "p.tsv"
    pairs.write_text("a b\tc d\t1\na b\te f\t0\n")
    ner = tmp_path / "train"
    ner.write_text("en:Paris\tB-LOC\nen:is\tO\n\nen:Bob\tB-PER\n")
    plain = tmp_path / "t.txt"
    plain.write_text("one line\n\ntwo line\none line\n")
    assert [detect_format(p) for p in (conllu, pairs, ner, plain)] == ["conllu", "pairs", "ner", "text"]
    assert extract_text(conllu) == ["Hallo Welt."]
    assert extract_text(pairs) == ["a b", "c d", "e f"]  # distinct sentences, in order
    assert extract_text(ner) == ["Paris is", "Bob"]
    assert extract_text(plain) == ["one line", "two line"]
    out = tmp_path / "out" / "corpus.txt"
    result = CliRunner().invoke(main, ["text", str(plain), str(pairs), "--out", str(out)])
    assert result.exit_code == 0
    assert out.read_text().splitlines() == ["one line", "two line", "a b", "c d", "e f"]
