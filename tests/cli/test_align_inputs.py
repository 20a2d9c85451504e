"""`mbert-eval align` and `align-eval` on SimAlign's sample layout: `id<TAB>sentence` text files and `id<TAB>links`
gold, read as the alignment task reads them (the id is no word; links are matched by id), `align` writing its links
in the same `id<TAB>links` layout so that `align-eval` reads them back; and gold without any sure link refused, as
the alignment task refuses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import one_error_line, run_cli

IDS = ["s7", "s2", "s9"]  # not 0..n-1, not sorted: matched by id, written in the text's order


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def sentences(small_family) -> tuple[list[str], list[str]]:
    """Three sentence pairs of the family's parallel text (words the tiny model's vocabulary knows)."""
    source, target, _ = small_family.parallel(small_family.languages[1].code)
    read = [path.read_text(encoding="utf-8").splitlines()[:3] for path in (source, target)]
    return read[0], read[1]


def test_align_reads_id_files_and_writes_id_links(sentences, tiny_model: Path, tmp_path: Path) -> None:
    """The id column is no word: the links of id files are those of the same sentences without ids, written as
    `id<TAB>links` lines in the files' order."""
    source, target = sentences
    plain = [_write(tmp_path / f"plain.{side}", lines) for side, lines in (("src", source), ("tgt", target))]
    with_ids = [
        _write(tmp_path / f"ids.{side}", [f"{i}\t{line}" for i, line in zip(IDS, lines)])
        for side, lines in (("src", source), ("tgt", target))
    ]
    out_plain, out_ids = tmp_path / "plain.align", tmp_path / "ids.align"
    for files, out in ((plain, out_plain), (with_ids, out_ids)):
        result = run_cli("align", *files, "--model", tiny_model, "--layer", 1, "--out", out)
        assert result.exit_code == 0, result.output
    expected = out_plain.read_text(encoding="utf-8").splitlines()
    assert out_ids.read_text(encoding="utf-8").splitlines() == [f"{i}\t{links}" for i, links in zip(IDS, expected)]

    # align-eval reads them back, matched by id (the gold in another order), with and without the text
    gold = _write(tmp_path / "gold", [f"{i}\t{links}" for i, links in reversed(list(zip(IDS, expected)))])
    for text in ([], ["--text", with_ids[0], "--text", with_ids[1]]):
        result = run_cli("align-eval", "--gold", gold, "--pred", out_ids, "--zero-indexed", *text)
        assert result.exit_code == 0, result.output
        assert "AER 0.0000" in result.output and "(3 pairs" in result.output, result.output


PRED = ["s7\t0-0 1-1 2-2", "s2\t0-0 1-1", "s9\t0-0"]
TEXT = (["s7\ta b c", "s2\td e", "s9\tf"], ["s7\tx y z", "s2\tu v", "s9\tw"])
ID_CASES = {  # gold lines, the pred lines, --text given, other options: exit code, fragment of the output
    "same-links-other-order": (["s9\t0-0", "s7\t0-0 1-1 2-2", "s2\t0-0 1-1"], PRED, False, [], 0, "AER 0.0000"),
    "one-link-missed": (["s7\t0-0 1-1 2-2", "s2\t0-0 1-1", "s9\t0-0"], PRED[:2] + ["s9\t"], True, [], 0, "F1 0.9"),
    "one-indexed-read-off-the-text": (["s7\t1-1 2-2 3-3", "s2\t1-1 2-2", "s9\t1-1"], PRED, True, [], 0, "AER 0.0000"),
    "pred-lacks-an-id": (["s7\t0-0 1-1 2-2", "s2\t0-0 1-1", "s9\t0-0"], PRED[:2], False, [], 2, "'s9'"),
    "pred-has-another-id": (["s7\t0-0 1-1 2-2", "s2\t0-0 1-1"], PRED, False, [], 2, "'s9'"),
    "gold-lacks-a-text-id": (["s7\t0-0 1-1 2-2", "s2\t0-0 1-1"], PRED[:2], True, [], 2, "'s9'"),
    "gold-out-of-range": (["s7\t0-0 1-1 2-2", "s2\t0-0 1-1", "s9\t0-0 3-3"], PRED, True, [], 2, "out of range"),
    "gold-out-of-range-dropped": (
        ["s7\t0-0 1-1 2-2", "s2\t0-0 1-1", "s9\t0-0 3-3"],
        PRED,
        True,
        ["--drop-out-of-range"],
        0,
        "1 out-of-range gold links dropped (first on line 3)",
    ),
    "pred-without-ids": (
        ["s7\t0-0 1-1 2-2", "s2\t0-0 1-1", "s9\t0-0"],
        ["0-0 1-1 2-2", "0-0 1-1", "0-0"],
        False,
        [],
        2,
        "tab",
    ),
    "ids-in-pred-only": (["0-0 1-1 2-2", "0-0 1-1", "0-0"], PRED, False, [], 2, "id<TAB>links"),
}


@pytest.mark.parametrize("name", ID_CASES)
def test_align_eval_matches_id_links_by_id(name: str, tmp_path: Path) -> None:
    gold_lines, pred_lines, with_text, options, exit_code, fragment = ID_CASES[name]
    gold, pred = _write(tmp_path / "gold", gold_lines), _write(tmp_path / "pred", pred_lines)
    text = [_write(tmp_path / f"text{k}", lines) for k, lines in enumerate(TEXT)] if with_text else []
    text_options = [a for path in text for a in ("--text", path)]
    index = [] if with_text else ["--zero-indexed"]
    result = run_cli("align-eval", "--gold", gold, "--pred", pred, *index, *text_options, *options)
    assert result.exit_code == exit_code, result.output
    if exit_code:
        message = one_error_line(result)
        assert message.startswith("Error:") and "\n" not in message and fragment in message, message
    else:
        assert fragment in result.output, result.output


@pytest.mark.parametrize(
    "gold, pred",
    [
        (["0p0 1p1 2p2", "0p0 1p1"], ["0-0 1-1 2-2", "0-0 1-1"]),
        (["s7\t0p0 1p1 2p2", "s2\t0p0 1p1"], ["s7\t0-0 1-1 2-2", "s2\t0-0 1-1"]),
        (["", ""], ["0-0", "0-0"]),
    ],
    ids=["possible-only", "possible-only-with-ids", "no-links"],
)
def test_align_eval_refuses_gold_without_sure_links(gold: list[str], pred: list[str], tmp_path: Path) -> None:
    """Recall and AER are measured against sure links: gold with none would score any aligner AER 1 - precision
    (here a perfect 0.0); the alignment task refuses it (`AlignmentTask.examples_problem`), and so does align-eval."""
    files = [_write(tmp_path / name, lines) for name, lines in (("gold", gold), ("pred", pred))]
    result = run_cli("align-eval", "--gold", files[0], "--pred", files[1], "--zero-indexed")
    assert result.exit_code == 2, result.output
    message = one_error_line(result)
    assert message.startswith("Error:") and "\n" not in message, message
    assert "no sure links" in message and str(files[0]) in message, message


def test_simalign_sample_aligns_and_scores_by_id(shared_data: Path, tiny_model: Path, tmp_path: Path) -> None:
    """SimAlign's own sample (`id<TAB>sentence`, gold `id<TAB>links`): `align` writes one `id<TAB>links` line per
    pair, every link within its sentences' words (the id column no word), and `align-eval` scores it against the
    gold. The tiny model's links are poor; only the layout is checked."""
    folder = shared_data / "alignment" / "simalign"
    text = [folder / "sample_eng.txt", folder / "sample_deu.txt"]
    out = tmp_path / "sample.align"
    result = run_cli("align", *text, "--model", tiny_model, "--layer", 1, "--out", out)
    assert result.exit_code == 0, result.output
    sentences = [[line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()] for path in text]
    lines = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    assert [i for i, _ in lines] == [i for i, _ in sentences[0]]
    for (_, links), (_, source), (_, target) in zip(lines, *sentences):
        for link in links.split():
            i, j = map(int, link.split("-"))
            assert i < len(source.split()) and j < len(target.split()), (link, source, target)
    result = run_cli(
        "align-eval", "--gold", folder / "sample_eng_deu.gold", "--pred", out, "--text", text[0], "--text", text[1]
    )
    assert result.exit_code == 0, result.output
    assert "(5 pairs" in result.output and "gold 0-indexed" in result.output, result.output
