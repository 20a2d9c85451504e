"""Alignment-aware fine-tuning (Cao, Kitaev & Klein 2020): the loss, training, the saved encoder, bad links."""

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from mbert_eval.config.experiment import AlignConfig
from mbert_eval.data import AlignmentLinks, read_parallel, read_pharaoh
from mbert_eval.errors import DataError, UserError
from mbert_eval.methods.alignment import (
    align_encoder,
    alignment_loss,
    encode_words,
    one_to_one,
    reference_vectors,
    word_vectors,
)


@pytest.fixture(scope="module")
def aligned_pairs(small_family) -> tuple[list[tuple[list[str], list[str]]], list[AlignmentLinks]]:
    """30 synthetic parallel pairs (base → second language) with their gold word alignments."""
    source, target, links = small_family.parallel(small_family.languages[1].code)
    pairs = [(p.source.split(), p.target.split()) for p in read_parallel(source, target)][:30]
    return pairs, read_pharaoh(links)[:30]


def _aligned_similarity(folder: Path, pairs: list, links: list[AlignmentLinks], layer: int = -1) -> tuple[float, float]:
    """Mean cosine similarity of aligned (source, target) last-subword vectors, and the share of links whose
    target word is the source word's most similar target word in its sentence; no dropout."""
    model, tokenizer = AutoModel.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)
    sides = []
    for sentences in zip(*pairs):
        encoding = tokenizer(list(sentences), is_split_into_words=True, padding=True, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**encoding, output_hidden_states=True).hidden_states[layer]
        vectors = []
        for row, words in enumerate(sentences):
            last = {word: token for token, word in enumerate(encoding.word_ids(row)) if word is not None}
            vectors.append(torch.nn.functional.normalize(hidden[row, [last[w] for w in range(len(words))]], dim=-1))
        sides.append(vectors)
    similarities, retrieved = [], []
    for source, target, alignment in zip(*sides, links):
        cosine = source @ target.T
        for i, j in alignment.possible:
            similarities.append(cosine[i, j].item())
            retrieved.append(float(cosine[i].argmax() == j))
    return sum(similarities) / len(similarities), sum(retrieved) / len(retrieved)


def test_alignment_loss_is_zero_for_identical_vectors_and_positive_otherwise() -> None:
    torch.manual_seed(0)
    source = torch.randn(5, 8, requires_grad=True)
    links = torch.tensor([[0, 1], [1, 0], [4, 2]])
    target = torch.zeros(3, 8)
    target[1], target[0], target[2] = source[0].detach(), source[1].detach(), source[4].detach()
    assert alignment_loss(source, target, source.detach(), links, 1.0).item() == 0.0
    moved = target + 0.5
    expected = 3 * 8 * 0.25
    assert alignment_loss(source, moved, source.detach(), links, 1.0).item() == pytest.approx(expected)
    assert alignment_loss(source, target, source.detach() + 1.0, links, 0.5).item() == pytest.approx(0.5 * 40)
    alignment_loss(source, moved, source.detach(), links, 0.0).backward()
    assert source.grad is not None and source.grad[[0, 1, 4]].abs().sum() > 0, "gradients reach the source side"
    assert alignment_loss(source, target, source, links[:0], 1.0).item() == 0.0, "no links: only the anchor term"


def test_original_model_has_zero_anchor_term_at_step_0(tiny_model: Path, aligned_pairs) -> None:
    pairs, _ = aligned_pairs
    model, tokenizer = AutoModel.from_pretrained(tiny_model), AutoTokenizer.from_pretrained(tiny_model)
    sources = [source for source, _ in pairs[:10]]
    settings = AlignConfig(batch_size=4, max_length=64)
    reference = reference_vectors(model, tokenizer, sources, settings)  # batches of 4: other padding
    assert [len(v) for v in reference] == [len(words) for words in sources]
    encoding, positions = encode_words(tokenizer, sources, settings.max_length)
    with torch.no_grad():
        current = word_vectors(model.eval(), encoding, positions, settings.layer)
    no_links = torch.zeros(0, 2, dtype=torch.long)
    assert alignment_loss(current, current, torch.cat(reference), no_links, 1.0).item() == pytest.approx(0, abs=1e-6)


def test_loss_decreases_on_a_toy_pair(tiny_model: Path) -> None:
    torch.manual_seed(0)
    model, tokenizer = AutoModel.from_pretrained(tiny_model).eval(), AutoTokenizer.from_pretrained(tiny_model)
    source, target = ["su", "lodfo", "zi", "gubo", "."], ["няп", "лэвяп", "рэ", "фиби", "."]
    links = torch.tensor([[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]])
    source_encoding, source_positions = encode_words(tokenizer, [source], 32)
    target_encoding, target_positions = encode_words(tokenizer, [target], 32)
    with torch.no_grad():
        reference = word_vectors(model, source_encoding, source_positions, -1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(20):
        source_vectors = word_vectors(model, source_encoding, source_positions, -1)
        target_vectors = word_vectors(model, target_encoding, target_positions, -1)
        loss = alignment_loss(source_vectors, target_vectors, reference, links, 1.0)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert sum(b < a for a, b in zip(losses, losses[1:])) >= 15


def test_align_encoder_saves_a_better_aligned_encoder(tiny_model: Path, aligned_pairs, tmp_path: Path) -> None:
    pairs, links = aligned_pairs
    settings = AlignConfig(learning_rate=1e-3, epochs=5, batch_size=8, max_length=64)
    before = _aligned_similarity(tiny_model, pairs, links)
    out_dir = align_encoder(str(tiny_model), tmp_path / "aligned", pairs, links, settings, seed=1, progress=False)
    assert (out_dir / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aligned"], "no temporary folder is left behind"
    record = json.loads((out_dir / "align.json").read_text(encoding="utf-8"))
    assert record["steps"] == 20 and record["pairs"] == 30 and record["settings"]["learning_rate"] == 1e-3
    assert record["links_used"] == 5 * sum(len(a.possible) for a in links) and record["links_skipped"] == 0
    assert record["links_not_one_to_one"] == 0, "the family's gold links are one-to-one"
    assert record["epoch_losses"][-1] < record["epoch_losses"][0] and record["final_loss"] > 0
    after = _aligned_similarity(out_dir, pairs, links)
    assert after[0] > before[0] + 0.05, (before, after)
    assert after[1] > before[1] + 0.05, "aligned words became each other's nearest neighbours, not just closer"


def test_truncated_words_are_skipped_and_bad_settings_refused(tiny_model: Path, aligned_pairs, tmp_path: Path) -> None:
    pairs, links = aligned_pairs
    settings = AlignConfig(epochs=1, batch_size=16, max_length=6, layer=1)  # [CLS] + 4 subwords + [SEP]
    out_dir = align_encoder(str(tiny_model), tmp_path / "short", pairs, links, settings, seed=0, progress=False)
    record = json.loads((out_dir / "align.json").read_text(encoding="utf-8"))
    assert record["links_skipped"] > 0 and record["links_used"] > 0
    assert record["links_used"] + record["links_skipped"] == sum(len(a.possible) for a in links)
    with pytest.raises(UserError, match="layer 5 does not exist"):
        align_encoder(str(tiny_model), tmp_path / "x", pairs, links, AlignConfig(layer=5), seed=0, progress=False)
    with pytest.raises(UserError, match="batch_size"):
        align_encoder(str(tiny_model), tmp_path / "x", pairs, links, AlignConfig(batch_size=0), seed=0)


def test_out_of_range_links_name_the_line(tiny_model: Path, aligned_pairs, tmp_path: Path) -> None:
    pairs, links = aligned_pairs
    bad = list(links)
    bad[2] = AlignmentLinks(frozenset({(0, 99)}), frozenset({(0, 99)}))
    with pytest.raises(DataError, match=r"gold\.align:3: link 0-99 \(0-indexed\) is out of range") as error:
        align_encoder(str(tiny_model), tmp_path / "x", pairs, bad, AlignConfig(), 0, links_origin="gold.align")
    assert "\n" not in str(error.value) and not (tmp_path / "x").exists()
    with pytest.raises(DataError, match="29 alignment lines, but 30 sentence pairs"):
        align_encoder(str(tiny_model), tmp_path / "x", pairs, links[:29], AlignConfig(), 0)


def test_only_one_to_one_links_are_trained_on(tiny_model: Path, aligned_pairs, tmp_path: Path) -> None:
    """Cao, Kitaev & Klein (2020) train on one-to-one links (their code's `keep_1to1`): a link whose source or
    target word has another link is left out, and `align.json` counts those left out."""
    assert one_to_one(frozenset({(0, 0), (0, 1), (1, 2), (2, 3), (3, 3), (4, 4)})) == {(1, 2), (4, 4)}
    assert one_to_one(frozenset()) == frozenset()
    pairs, links = aligned_pairs
    # each pair's first source word also linked to its last target word: both of its links, and any other link of
    # that target word, are no longer one-to-one
    crowded = [
        AlignmentLinks(a.sure, a.possible | {(0, len(target) - 1)}) for a, (_, target) in zip(links, pairs, strict=True)
    ]
    settings = AlignConfig(epochs=1, batch_size=8, max_length=64)
    out_dir = align_encoder(str(tiny_model), tmp_path / "x", pairs, crowded, settings, seed=0, progress=False)
    record = json.loads((out_dir / "align.json").read_text(encoding="utf-8"))
    kept = sum(len(one_to_one(a.possible)) for a in crowded)
    assert record["links_not_one_to_one"] == sum(len(a.possible) for a in crowded) - kept
    assert record["links_not_one_to_one"] >= 2 * len(pairs)
    assert record["links_used"] + record["links_skipped"] == kept


def test_a_diverged_alignment_loss_saves_no_checkpoint(tiny_model: Path, aligned_pairs, tmp_path: Path) -> None:
    """A loss that turns NaN ends alignment in one line naming the setting to lower; no checkpoint is left."""
    pairs, links = aligned_pairs
    settings = AlignConfig(learning_rate=1e30, epochs=2, batch_size=8, max_length=64)
    with pytest.raises(UserError, match=r"align, epoch \d: the training loss became nan .*align\.learning_rate"):
        align_encoder(str(tiny_model), tmp_path / "aligned", pairs, links, settings, seed=1, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_word_the_cut_falls_inside_has_no_vector(tiny_model: Path) -> None:
    """`max_length` cutting a word after its first subword: the word kept the piece left as its vector, which is no
    last-subword vector (Cao, Kitaev & Klein 2020), and its links trained on it; it has none, as a word cut off
    whole has none, and the words before it keep theirs."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    vocabulary = tokenizer.get_vocab()
    long = next(word for word in ("lodfowidbehi", "zyxwvutsrq", "gubonununfowew") if len(tokenizer.tokenize(word)) > 1)
    short = [word for word in ("su", "zi", ".") if word in vocabulary]
    sentence = [*short, long, "su"]
    whole, _ = encode_words(tokenizer, [sentence], 64)
    cut = len(short) + 2 + 1  # [CLS], the short words, the long word's first piece, [SEP]
    encoding, [positions] = encode_words(tokenizer, [sentence], cut)
    assert encoding["input_ids"].shape[1] == cut < whole["input_ids"].shape[1]
    assert positions[: len(short)] == list(range(1, len(short) + 1))
    assert positions[len(short) :] == [None, None]
