"""SimAlign word aligner (Jalili Sabet et al. 2020): link-for-link equality with simalign 0.4 on real and
synthetic pairs, long pairs beyond the model window, AER (Och & Ney 2003), and the CLI's bad inputs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import simalign
import torch

from mbert_eval.aligner.word_aligner import (
    WordAligner,
    WordAlignerConfig,
    itermax,
    max_weight_matching,
    mutual_argmax,
)
from mbert_eval.data import (
    AlignmentLinks,
    read_id_sentences,
    read_parallel,
    read_parallel_bitext,
    read_pharaoh,
)
from mbert_eval.errors import UserError
from mbert_eval.metrics.aer import alignment_scores
from tests.helpers import SHARED_DATA, run_cli

SIMALIGN_NAMES = {"argmax": "inter", "itermax": "itermax", "match": "mwmf"}
TIE = 1e-5  # similarities closer than this are equal up to float rounding (batched vs per-pair forward)
ENFR = Path("alignment/awesome-align")


def _real_texts() -> list[str]:
    """Real sentences the test model's vocabulary also covers (none when ../shared/data is absent)."""
    if not (SHARED_DATA / "MANIFEST.md").is_file():
        return []
    enfr = read_parallel_bitext(SHARED_DATA / ENFR / "enfr.src-tgt")
    tatoeba = read_parallel(*(SHARED_DATA / f"tatoeba/tatoeba.deu-eng.{x}" for x in ("deu", "eng")))
    samples = [read_id_sentences(SHARED_DATA / f"alignment/simalign/sample_{x}.txt") for x in ("eng", "deu")]
    simalign_text = [sentence for sample in samples for _, sentence in sample]
    return [side for pair in enfr + tatoeba[:300] for side in (pair.source, pair.target)] + simalign_text


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: simalign's two-sentence forward passes crawl when threads outnumber free cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory, small_family) -> Path:
    """A random 8-layer BERT (hidden 32, 128 positions) with a WordPiece tokenizer trained on the family's and
    the real data's text, so that the default layer 8 exists and real words are not all [UNK]."""
    from transformers import BertConfig, BertModel

    from mbert_eval.pretraining.tokenizer import train_tokenizer

    folder = tmp_path_factory.mktemp("aligner-model")
    corpus = folder / "corpus.txt"
    family_files = [small_family.mono(lang.code) for lang in small_family.languages]
    family_text = [line for path in family_files for line in path.read_text(encoding="utf-8").splitlines()]
    corpus.write_text("\n".join(family_text + _real_texts()) + "\n", encoding="utf-8")
    tokenizer = train_tokenizer([corpus], "wordpiece", 1500, folder)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=8,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def aligners(model_folder):
    """Ours and simalign's SentenceAligner on the same folder, default layer 8, all three methods."""
    ours = WordAligner(WordAlignerConfig(str(model_folder), device="cpu"))
    reference = simalign.SentenceAligner(model=str(model_folder), matching_methods="mai", device="cpu", layer=8)
    return ours, reference


def simalign_similarity(reference, source: list[str], target: list[str]) -> np.ndarray:
    """simalign's own similarity matrix of a pair (its get_word_aligns up to the matching)."""
    loader = reference.embed_loader
    pieces = [[loader.tokenizer.tokenize(word) for word in sentence] for sentence in (source, target)]
    vectors = loader.get_embed_list([source, target]).cpu().numpy()
    vectors = [vectors[k, : sum(map(len, pieces[k]))] for k in (0, 1)]
    if reference.token_type == "word":
        vectors = reference.average_embeds_over_words(vectors, pieces)
    return reference.get_similarity(vectors[0], vectors[1])


def argmax_flip_gaps(ours: np.ndarray, ref: np.ndarray) -> list[float]:
    """Where the row or column maxima of the two matrices differ: the gap, in ``ref``, between the two picks."""
    gaps = []
    for axis in (1, 0):
        a, b = ours.argmax(axis), ref.argmax(axis)
        for k in np.nonzero(a != b)[0]:
            line = ref[k] if axis == 1 else ref[:, k]
            gaps.append(float(abs(line[a[k]] - line[b[k]])))
    return gaps


def assert_rounding_tie(method: str, sim_ours: np.ndarray, sim_ref: np.ndarray) -> None:
    """The unit-level decisions of ``method`` on our and simalign's matrices differ only by a tie: the matrices
    agree within float rounding and every competing pair of candidates is within ``TIE`` in simalign's matrix."""
    assert sim_ours.shape == sim_ref.shape and np.abs(sim_ours - sim_ref).max() < TIE
    m, n = sim_ref.shape
    ours, ref = sim_ours[None], sim_ref.astype(np.float32)[None]
    sizes = (np.array([m]), np.array([n]))
    if method == "match":  # two optimal matchings: equal weight under simalign's similarities
        mine = max_weight_matching(ours, *sizes)[0]
        theirs = simalign.SentenceAligner.get_max_weight_match(sim_ref) > 0
        assert mine.sum() == theirs.sum() and abs(sim_ref[mine].sum() - sim_ref[theirs].sum()) < TIE
        return
    gaps = argmax_flip_gaps(sim_ours, sim_ref)
    inter_ours, inter_ref = mutual_argmax(ours), mutual_argmax(ref)
    if method == "itermax" and not gaps:  # same first round: the tie is in the second round's scaled matrix
        assert np.array_equal(inter_ours, inter_ref)
        free = (~inter_ref.any(axis=2))[0][:, None] * 0.9 + (~inter_ref.any(axis=1))[0][None, :] * 0.9
        scale = np.clip(free, 0.0, 1.0)
        gaps = argmax_flip_gaps(sim_ours * scale, sim_ref * scale)
    decided = (inter_ours if method == "argmax" else itermax(ours, inter_ours, *sizes))[0]
    expected = (inter_ref if method == "argmax" else itermax(ref, inter_ref, *sizes))[0]
    assert not np.array_equal(decided, expected) and gaps and max(gaps) < TIE, gaps


def assert_same_links(ours: WordAligner, reference, pairs: list[tuple[list[str], list[str]]]) -> int:
    """Ours and simalign give the same word links for every pair and method, except where a difference is
    shown to be a tie within float rounding; returns the number of such ties."""
    got = ours.align(pairs)
    ties = 0
    for k, (source, target) in enumerate(pairs):
        expected = reference.get_word_aligns(source, target)
        for method, name in SIMALIGN_NAMES.items():
            assert got[method][k].sure == got[method][k].possible
            if sorted(got[method][k].possible) != expected[name]:
                sim_ours = ours.similarity_matrices([(source, target)])[0]
                assert_rounding_tie(method, sim_ours, simalign_similarity(reference, source, target))
                ties += 1
    return ties


def test_decisions_equal_simalign_even_on_exact_ties() -> None:
    """On the same matrix, argmax and itermax equal simalign's exactly (ties included, lowest index wins);
    match may pick another matching only between matchings of equal weight."""
    rng = np.random.default_rng(0)
    match_ties = 0
    for _ in range(400):
        m, n = (int(x) for x in rng.integers(1, 9, 2))
        levels = int(rng.choice([2, 4, 1000]))
        sim = (rng.integers(0, levels, (m, n)) / levels * 0.5 + 0.25).astype(np.float32)
        padded = np.full((1, 9, 9), -1.0, np.float32)
        padded[0, :m, :n] = sim
        sizes = (np.array([m]), np.array([n]))
        inter = mutual_argmax(padded)
        forward, backward = simalign.SentenceAligner.get_alignment_matrix(sim)
        assert inter[0].sum() == inter[0, :m, :n].sum() and np.array_equal(inter[0, :m, :n], forward * backward > 0)
        assert np.array_equal(itermax(padded, inter, *sizes)[0, :m, :n], simalign.SentenceAligner.iter_max(sim) > 0)
        mine = max_weight_matching(padded, *sizes)[0, :m, :n]
        theirs = simalign.SentenceAligner.get_max_weight_match(sim) > 0
        if not np.array_equal(mine, theirs):
            match_ties += 1
            assert mine.sum() == theirs.sum() == min(m, n)
            assert sim[mine].sum() == pytest.approx(sim[theirs].sum(), abs=1e-6)
    assert match_ties > 0  # the quantized matrices do produce ties, so the branch above ran


def test_tie_check_accepts_rounding_ties_and_rejects_real_differences() -> None:
    sim = np.array([[0.7, 0.7 + 2e-7, 0.1], [0.2, 0.3, 0.9], [0.5, 0.1, 0.2]], np.float32)
    nudged = sim.copy()
    nudged[0, 0] += 4e-7  # rounding flips row 0's maximum
    assert_rounding_tie("argmax", nudged, sim)
    moved = sim.copy()
    moved[0, 0] = 0.8  # a real difference, not rounding
    with pytest.raises(AssertionError):
        assert_rounding_tie("argmax", moved, sim)


@pytest.mark.slow
def test_links_equal_simalign_on_synthetic_pairs(small_family, aligners) -> None:
    pairs = []
    for language in small_family.languages[1:]:
        source, target, _ = small_family.parallel(language.code)
        pairs += [(p.source.split(), p.target.split()) for p in read_parallel(source, target)[:20]]
    assert assert_same_links(*aligners, pairs) <= 2


def test_links_equal_simalign_on_real_pairs(shared_data, aligners) -> None:
    eng, deu = (read_id_sentences(shared_data / f"alignment/simalign/sample_{x}.txt") for x in ("eng", "deu"))
    pairs = [(e.split(), d.split()) for (_, e), (_, d) in zip(eng, deu)]
    enfr = read_parallel_bitext(shared_data / ENFR / "enfr.src-tgt")
    pairs += [(p.source.split(), p.target.split()) for p in enfr[100:130]]
    tatoeba = read_parallel(*(shared_data / f"tatoeba/tatoeba.deu-eng.{x}" for x in ("deu", "eng")))
    pairs += [(p.source.split(), p.target.split()) for p in tatoeba[:30]]
    assert assert_same_links(*aligners, pairs) <= 3


def test_word_token_type_and_a_lower_layer_equal_simalign(small_family, model_folder) -> None:
    source, target, _ = small_family.parallel(small_family.languages[1].code)
    pairs = [(p.source.split(), p.target.split()) for p in read_parallel(source, target)[20:35]]
    for token_type, layer in (("word", 8), ("bpe", 3)):
        ours = WordAligner(WordAlignerConfig(str(model_folder), layer=layer, token_type=token_type, device="cpu"))
        reference = simalign.SentenceAligner(
            model=str(model_folder), token_type=token_type, matching_methods="mai", device="cpu", layer=layer
        )
        assert assert_same_links(ours, reference, pairs) <= 1


def test_pairs_longer_than_the_model_window_get_a_vector_for_every_subword(small_family, aligners) -> None:
    ours, _ = aligners
    source, target, _ = small_family.parallel(small_family.languages[1].code)
    parallel = read_parallel(source, target)
    long_pair = (" ".join(p.source for p in parallel[:30]).split(), " ".join(p.target for p in parallel[:35]).split())
    ids = ours.tokenizer(list(long_pair), is_split_into_words=True, add_special_tokens=False)["input_ids"]
    counts = [len(sentence) for sentence in ids]
    assert ours.window == 126 and min(counts) > 2 * ours.window and counts[0] < counts[1]
    sim = ours.similarity_matrices([long_pair])[0]
    assert sim.shape == tuple(counts) and np.isfinite(sim).all()
    matched = ours.align([long_pair])["match"][0].possible  # match links every source subword (fewer than target's)
    assert {i for i, _ in matched} == set(range(len(long_pair[0])))
    # each subword's vector comes from the window whose centre is nearest: the first window for the start,
    # the last (flush with the end) for the end; both equal embedding that window on its own
    whole = ours._embed([ids[0]])[0]
    first, last = ours._embed([ids[0][: ours.window], ids[0][-ours.window :]])
    torch.testing.assert_close(whole[:40], first[:40])
    torch.testing.assert_close(whole[-40:], last[-40:])


def test_bfloat16_encoder_keeps_almost_every_float32_link(small_family, model_folder) -> None:
    """dtype="bfloat16" runs the encoder in bf16: float32 similarities within bf16 rounding of the float32
    encoder's, and the links mostly the same (not all: that is what float32 is for)."""
    source, target, _ = small_family.parallel(small_family.languages[1].code)
    pairs = [(p.source.split(), p.target.split()) for p in read_parallel(source, target)[:60]]
    exact = WordAligner(WordAlignerConfig(str(model_folder), device="cpu"))
    fast = WordAligner(WordAlignerConfig(str(model_folder), device="cpu", dtype="bfloat16"))
    assert {p.dtype for p in fast.model.parameters()} == {torch.bfloat16}
    for sim_exact, sim_fast in zip(exact.similarity_matrices(pairs), fast.similarity_matrices(pairs)):
        assert sim_fast.dtype == np.float32 and np.abs(sim_fast - sim_exact).max() < 0.02
    fast_links = fast.align(pairs)
    for method, links in exact.align(pairs).items():
        kept = sum(len(a.possible & b.possible) for a, b in zip(links, fast_links[method]))
        assert kept >= 0.97 * sum(len(a.possible) for a in links), method


def test_aligner_config_and_layer_errors(model_folder) -> None:
    with pytest.raises(UserError, match="unknown alignment method"):
        WordAlignerConfig("x", methods=("grow-diag",))
    with pytest.raises(UserError, match="unknown dtype 'float16'; known: float32, bfloat16"):
        WordAlignerConfig("x", dtype="float16")
    with pytest.raises(UserError, match="layer 9 does not exist"):
        WordAligner(WordAlignerConfig(str(model_folder), layer=9, device="cpu"))


def test_aer_follows_och_and_ney() -> None:
    gold = [AlignmentLinks(frozenset({(0, 0)}), frozenset({(0, 0), (1, 1)})), AlignmentLinks(frozenset(), frozenset())]
    predicted = [
        AlignmentLinks(frozenset({(0, 0), (1, 1), (2, 2)}), frozenset({(0, 0), (1, 1), (2, 2)})),
        AlignmentLinks(frozenset(), frozenset()),
    ]
    scores = alignment_scores(predicted, gold)  # |A|=3, |S|=1, |A∩S|=1, |A∩P|=2
    assert (scores.precision, scores.recall, scores.aer) == pytest.approx((2 / 3, 1.0, 1 - 3 / 4))
    assert scores.f1 == pytest.approx(0.8)
    perfect = alignment_scores(gold, gold)
    assert perfect.aer == 0.0 and perfect.precision == perfect.recall == 1.0


# --- command line -------------------------------------------------------------------------------------------


def one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and "Traceback" not in result.output, lines
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_cli_aligns_synthetic_text_and_scores_it(small_family, model_folder, tmp_path) -> None:
    source, target, gold = small_family.parallel(small_family.languages[1].code)
    out = tmp_path / "pred.align"
    result = run_cli("align", source, target, "--model", model_folder, "--method", "itermax", "--out", out)
    assert result.exit_code == 0, result.output
    assert len(read_pharaoh(out)) == len(read_parallel(source, target))
    result = run_cli("align-eval", "--gold", gold, "--pred", out, "--text", source, "--text", target)
    assert result.exit_code == 0, result.output
    aer = float(re.search(r"AER ([0-9.]+)", result.output)[1])
    assert 0.0 <= aer <= 1.0
    fast = tmp_path / "fast.align"
    result = run_cli(
        "align", source, target, "--model", model_folder, "--method", "itermax", "--dtype", "bfloat16", "--out", fast
    )
    assert result.exit_code == 0, result.output
    result = run_cli("align-eval", "--gold", gold, "--pred", fast)
    assert abs(float(re.search(r"AER ([0-9.]+)", result.output)[1]) - aer) < 0.02


def test_cli_scores_real_enfr_with_one_indexed_gold(shared_data, model_folder, tmp_path) -> None:
    text, gold = shared_data / ENFR / "enfr.src-tgt", shared_data / ENFR / "enfr.gold"
    bitext = tmp_path / "enfr.src-tgt"
    bitext.write_text("".join(text.read_text(encoding="utf-8").splitlines(keepends=True)[:60]), encoding="utf-8")
    gold60 = tmp_path / "enfr.gold"
    gold60.write_text("".join(gold.read_text(encoding="utf-8").splitlines(keepends=True)[:60]), encoding="utf-8")
    out = tmp_path / "pred.align"
    assert run_cli("align", bitext, "--model", model_folder, "--out", out).exit_code == 0
    result = run_cli("align-eval", "--gold", gold60, "--pred", out, "--one-indexed", "--text", bitext)
    assert result.exit_code == 0, result.output
    assert "precision" in result.output and "AER" in result.output
    one_line_error(
        run_cli("align-eval", "--gold", gold60, "--pred", out, "--zero-indexed", "--text", bitext),
        str(gold60),
        "out of range",
    )


def test_cli_rejects_parallel_files_of_different_line_counts(small_family, model_folder, tmp_path) -> None:
    source, target, _ = small_family.parallel(small_family.languages[1].code)
    short = tmp_path / "short.txt"
    short.write_text("".join(target.read_text(encoding="utf-8").splitlines(keepends=True)[:7]), encoding="utf-8")
    total = len(source.read_text(encoding="utf-8").splitlines())
    one_line_error(
        run_cli("align", source, short, "--model", model_folder, "--out", tmp_path / "o"),
        str(source),
        str(short),
        f"{total} lines",
        "7 lines",
    )


def test_cli_rejects_an_unknown_method_or_dtype(small_family, model_folder, tmp_path) -> None:
    source, target, _ = small_family.parallel(small_family.languages[1].code)
    result = run_cli("align", source, target, "--model", model_folder, "--method", "grow", "--out", tmp_path / "o")
    one_line_error(result, "unknown alignment method(s) grow", "argmax, itermax, match")
    result = run_cli("align", source, target, "--model", model_folder, "--dtype", "float16", "--out", tmp_path / "o")
    one_line_error(result, "unknown dtype 'float16'", "float32, bfloat16")


def test_cli_rejects_an_empty_line_in_parallel_text(model_folder, tmp_path) -> None:
    source, target = tmp_path / "a.txt", tmp_path / "b.txt"
    source.write_text("a b\n\nc d\n", encoding="utf-8")
    target.write_text("x y\nz\nw\n", encoding="utf-8")
    one_line_error(
        run_cli("align", source, target, "--model", model_folder, "--out", tmp_path / "o"), f"{source}:2", "empty line"
    )
    bitext = tmp_path / "pairs.txt"
    bitext.write_text("a b ||| x y\n   \n", encoding="utf-8")
    result = run_cli("align", bitext, "--model", model_folder, "--out", tmp_path / "o")
    one_line_error(result, f"{bitext}:2", "empty line")


def test_cli_rejects_gold_links_out_of_range_and_mismatched_files(tmp_path) -> None:
    bitext, gold, pred = tmp_path / "pairs.txt", tmp_path / "gold.align", tmp_path / "pred.align"
    bitext.write_text("a b ||| x y\nc d e ||| z\n", encoding="utf-8")
    gold.write_text("0-0 1p1\n2-0 1-3\n", encoding="utf-8")
    pred.write_text("0-0\n0-0\n", encoding="utf-8")
    one_line_error(run_cli("align-eval", "--gold", gold, "--pred", pred, "--text", bitext), f"{gold}:2", "1-3")
    pred.write_text("0-0\n", encoding="utf-8")
    result = run_cli("align-eval", "--gold", gold, "--pred", pred)
    one_line_error(result, str(pred), str(gold), "1 alignment lines", "has 2")


def test_real_encoder_aligns_enfr_near_the_literature_and_skips_bare_space_pieces(shared_data, e5_small) -> None:
    """multilingual-e5-small, layer 8, argmax on awesome-align's en-fr gold (447 pairs): SimAlign reports AER ≈ 6
    for mBERT and 7 for XLM-R there (Jalili Sabet et al. 2020). Leaving bare `▁` pieces out of a word's units
    lowers the AER; with them kept the links are simalign's way."""
    pairs = [(p.source.split(), p.target.split()) for p in read_parallel_bitext(shared_data / ENFR / "enfr.src-tgt")]
    gold = read_pharaoh(shared_data / ENFR / "enfr.gold", one_indexed=True)
    aer = {}
    for skip in (True, False):
        aligner = WordAligner(WordAlignerConfig(str(e5_small), layer=8, methods=("argmax",), skip_space_markers=skip))
        aer[skip] = alignment_scores(aligner.align(pairs)["argmax"], gold).aer
    assert aer[True] < 0.09 and aer[True] < aer[False] - 0.002, aer
