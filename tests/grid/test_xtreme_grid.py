"""The rest of XTREME end to end, offline: a grid with extractive QA on the synthetic family's QA files and BUCC
mining on a synthetic mix (the family's parallel text hidden among unpaired sentences) stores EM/F1 and
P/R/F1 per target, and the report shows them with the XTREME average marked partial."""

from __future__ import annotations

import pytest

from mbert_eval.config.loading import load_experiment
from mbert_eval.data import read_parallel
from mbert_eval.data.bucc import tatoeba_mix, write_bucc
from mbert_eval.data.types import read_lines
from mbert_eval.grid.run import run_experiment
from mbert_eval.report import render_report
from mbert_eval.store import ResultStore
from tests.helpers import write_config


def synthetic_mix(family, folder) -> None:
    """For each target: its parallel sentences with the base language's, half of each split kept as gold pairs,
    among unpaired base-language sentences of the family's monolingual text."""
    base = family.languages[0].code
    distractors = [line for line in read_lines(family.mono(base)) if line.strip()][:200]
    for language in family.languages[1:]:
        code = language.code
        pairs = read_parallel(
            family.root / "parallel" / f"{base}-{code}.{code}", family.root / "parallel" / f"{base}-{code}.{base}"
        )
        for split in ("dev", "test"):
            write_bucc(
                folder,
                tatoeba_mix(pairs, distractors, split=split, kept=10, languages=(code, base)),
                (code, base),
                split,
            )


@pytest.mark.slow
def test_qa_and_mining_run_end_to_end_and_the_report_shows_no_xtreme_score_for_synthetic_languages(
    tmp_path, small_family, tiny_model
):
    base = small_family.languages[0].code
    targets = [language.code for language in small_family.languages]
    synthetic_mix(small_family, tmp_path / "mix")
    qa = small_family.root / "qa"
    config = write_config(
        tmp_path / "xtreme.yaml",
        {
            "name": "xtreme",
            "models": [str(tiny_model)],
            "sources": [base],
            "targets": targets,
            "seeds": [1],
            "output": "out",
            "training": {"learning_rate": 1e-3, "batch_size": 16, "epochs": 1},
            "tasks": {
                "xquad": {
                    "train": f"{qa}/{{lang}}-train.json[0:200]",
                    "dev": f"{qa}/{{lang}}-dev.json[0:40]",
                    "test": f"{qa}/{{lang}}-test.json[0:60]",
                },
                "bucc": {
                    "test": f"{tmp_path}/mix/{{lang}}-{base}.test.{{lang}}",
                    "dev": f"{tmp_path}/mix/{{lang}}-{base}.dev.{{lang}}",
                    "targets": targets[1:],
                },
            },
        },
    )
    experiment, problems = load_experiment(config)
    summary = run_experiment(experiment, problems=problems)
    assert summary.cells_run == 2
    store = ResultStore(experiment.store_path)
    frame = store.dataframe()
    stored = {task: set(frame[frame["task"] == task]["metric"]) for task in ("xquad", "bucc")}
    assert {"f1", "exact_match", "em_f1"} <= stored["xquad"]
    assert {"f1", "precision", "recall", "threshold"} <= stored["bucc"]
    for task, expected in (("xquad", targets), ("bucc", targets[1:])):
        rows = frame[(frame["task"] == task) & (frame["metric"] == "f1")]
        assert sorted(rows["target"]) == sorted(expected) and rows["score"].between(0, 1).all()
    page = render_report(store, "xtreme")
    assert 'id="xtreme"' not in page and "missing 7 of XTREME" not in page  # synthetic languages: no XTREME score
    roles = {(role.task, role.metric): role.xtreme for role in store.metric_roles()}
    assert roles[("xquad", "f1")] == roles[("xquad", "exact_match")] == "xquad" and roles[("bucc", "f1")] == "bucc"


@pytest.mark.slow
def test_a_tiny_model_learns_the_synthetic_qa_far_above_random_spans(tmp_path):
    """The synthetic QA is learnable: a 2-layer BERT trained from scratch on the base language's questions
    (one-sentence contexts; with three a tiny model must first find the sentence, which takes far more data)
    scores far above a random run of one to three words of the context on the base language's test set."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from mbert_eval.data.squad import read_squad
    from mbert_eval.metrics.squad import qa_scores
    from mbert_eval.pretraining.tokenizer import train_tokenizer
    from mbert_eval.synthetic.family import SynthConfig, generate_family
    from mbert_eval.tasks import get_task
    from mbert_eval.tasks.qa import QAExamples
    from tests.helpers import fine_tuning, random_spans

    family = generate_family(
        tmp_path / "family",
        SynthConfig(
            n_languages=2,
            seed=0,
            n_monolingual=300,
            n_train=20,
            n_dev=5,
            n_test=5,
            n_parallel=10,
            qa_train=1500,
            qa_dev=100,
            qa_test=200,
            qa_context=1,
        ),
    )
    base = family.languages[0].code
    tokenizer = train_tokenizer([family.mono(base)], "wordpiece", 400, tmp_path / "model")
    torch.manual_seed(0)
    BertForMaskedLM(
        BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=128,
            max_position_embeddings=128,
            pad_token_id=tokenizer.pad_token_id,
        )
    ).save_pretrained(tmp_path / "model")
    task = get_task("xquad")
    settings = fine_tuning(learning_rate=1e-3, batch_size=16, epochs=8, seed=1, warmup_ratio=0.1)
    prepared = task.prepare(
        str(tmp_path / "model"),
        read_squad(family.qa(base, "train")),
        QAExamples(read_squad(family.qa(base, "dev")), base),
        settings,
        torch.device("cpu"),
    )
    test = read_squad(family.qa(base, "test"))
    scores = task.evaluate(prepared, QAExamples(test, base), torch.device("cpu"))
    golds = {e.id: [a.text for a in e.answers] for e in test}
    chance = qa_scores(dict(zip(golds, random_spans(test, 0))), golds, base, "squad")["f1"]
    assert scores["f1"] > 2 * chance and scores["f1"] > chance + 0.25, (scores, chance)


def test_validate_refuses_an_mlqa_target_its_normalization_does_not_know(tmp_path):
    from mbert_eval.grid.resolve import validate

    config = write_config(
        tmp_path / "mlqa.yaml",
        {"models": ["bert-base-multilingual-cased"], "targets": ["de", "th"], "tasks": {"mlqa": {}}},
    )
    experiment, problems = load_experiment(config)
    assert validate(experiment, problems, check_files=False) == [
        "tasks.mlqa: targets: MLQA's normalization knows ar, de, en, es, hi, vi, zh, not 'th'"
    ]
