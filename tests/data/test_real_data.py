"""A cut-down `examples/ud-pos-local.yaml` on the real UD files in ../shared/data."""

from collections import Counter

import yaml

from mbert_eval.config.loading import load_experiment
from mbert_eval.data import read_conllu
from mbert_eval.grid.resolve import resolve
from mbert_eval.grid.run import run_experiment
from mbert_eval.store.results import ResultStore
from tests.helpers import REPO_ROOT


def test_zero_shot_pos_from_english_to_pud(tmp_path, shared_data):
    from transformers import BertConfig, BertForMaskedLM

    from mbert_eval.data.text import extract_text
    from mbert_eval.pretraining.tokenizer import train_tokenizer

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for code, path in {
        "en": "ud/en/en_lines-ud-train.conllu",
        "de": "ud/de/de_gsd-ud-dev.conllu",
        "fr": "ud/fr/fr_gsd-ud-dev.conllu",
    }.items():
        (corpus / f"{code}.txt").write_text("\n".join(extract_text(shared_data / path)) + "\n", encoding="utf-8")
    model_dir = tmp_path / "model"
    tokenizer = train_tokenizer(sorted(corpus.glob("*.txt")), "wordpiece", 3000, model_dir)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        pad_token_id=tokenizer.pad_token_id,
    )
    BertForMaskedLM(config).save_pretrained(model_dir)

    example = yaml.safe_load((REPO_ROOT / "examples" / "ud-pos-local.yaml").read_text())
    pos = example["tasks"]["pos"]
    example.update(
        models=[str(model_dir)],
        targets=["de", "en", "fr"],
        output=str(tmp_path / "run"),
        training={"learning_rate": 2e-3, "batch_size": 16},
    )
    example["tasks"]["pos"] = {
        "train": str(shared_data / "ud/en/en_lines-ud-train.conllu") + "[0:400]",
        "dev": str(shared_data / "ud/en/en_lines-ud-dev.conllu") + "[0:50]",
        "test": str(shared_data / "ud/pud/{lang}_pud-ud-test.conllu") + "[0:100]",
        "epochs": 2,
    }
    assert pos["test"].endswith("ud/pud/{lang}_pud-ud-test.conllu")  # the example reads the PUD targets
    config_path = tmp_path / "exp.yaml"
    config_path.write_text(yaml.safe_dump(example))
    experiment, problems = load_experiment(config_path)
    assert problems == []
    # 400 LinES sentences hold no INTJ, which PUD's English test uses: refused before training, by file:line ...
    (problem,) = resolve(experiment).problems
    assert "en_pud-ud-test.conllu:" in problem and "tag 'INTJ' never occurs in training" in problem
    experiment.tasks["pos"].unseen_labels = "score"  # ... unless asked to score them (as errors), and counted
    run_experiment(experiment)
    rows = {r.target: r for r in ResultStore(experiment.store_path).rows()}
    assert rows["en"].extra["unseen_gold_labels"] >= 1
    assert set(rows) == {"de", "en", "fr"}
    gold = [tag for s in read_conllu(shared_data / "ud/pud/en_pud-ud-test.conllu")[:100] for tag in s.tags]
    majority = Counter(gold).most_common(1)[0][1] / len(gold)
    assert rows["en"].score > majority  # learned something beyond the most frequent tag
    for row in rows.values():
        assert row.n_examples == 100 and 0 <= row.score <= 1
        assert any("pud-ud-test.conllu" in path for path in row.data_checksums)
