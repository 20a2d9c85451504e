"""Long evaluations show a progress bar on stderr when the caller names one (`progress="tatoeba de"`, as `run_cell`
does) and none otherwise, as `training.loop.predict` does: Tatoeba retrieval, BUCC mining, word alignment, QA."""

import random

import pytest
import torch

from mbert_eval.config.experiment import TaskConfig
from mbert_eval.data.bucc import tatoeba_mix, write_bucc
from mbert_eval.data.types import ParallelPair
from mbert_eval.languages import lookup
from mbert_eval.models.encoders import load_model, load_tokenizer
from mbert_eval.tasks import get_task
from mbert_eval.tasks.base import Prepared
from mbert_eval.tasks.mining import BUCCTask

CPU = torch.device("cpu")


@pytest.fixture
def sentences(small_family) -> list[str]:
    words = small_family.mono(small_family.languages[0].code).read_text().split()
    rng = random.Random(0)
    return [" ".join(rng.sample(words, 6)) for _ in range(20)]


def prepared(model) -> Prepared:
    return Prepared(load_model(str(model)), load_tokenizer(str(model)))


def test_tatoeba_shows_a_bar_per_side_only_when_named(tiny_model, sentences, capsys):
    task, pairs = get_task("tatoeba"), [ParallelPair(s, s) for s in sentences]
    quiet = task.evaluate(prepared(tiny_model), pairs, CPU)
    assert capsys.readouterr().err == ""
    assert task.evaluate(prepared(tiny_model), pairs, CPU, progress="tatoeba de") == quiet
    err = capsys.readouterr().err
    assert "tatoeba de: target side" in err and "tatoeba de: pivot side" in err


def test_bucc_shows_bars_for_its_sides_and_its_layers(tmp_path, tiny_model, sentences, capsys):
    pairs = [ParallelPair(s, s) for s in sentences]
    write_bucc(tmp_path, tatoeba_mix(pairs, [], split="test", kept=10, languages=("de", "en")), ("de", "en"), "test")
    task = BUCCTask(TaskConfig(test="{lang}-en.test.{lang}", dev="{lang}-en.test.en"), tmp_path, layer=1)
    examples = task.target_examples(lookup("de"))
    capsys.readouterr()
    task.evaluate(prepared(tiny_model), examples, CPU, progress="bucc de")
    err = capsys.readouterr().err
    for name in ("dev source side", "dev target side", "test source side", "test target side", "mining layers"):
        assert f"bucc de: {name}" in err


def test_word_alignment_shows_a_bar_over_the_pairs(tiny_model, sentences, capsys, monkeypatch):
    from tqdm.auto import tqdm

    from mbert_eval.aligner import word_aligner

    closed = []

    class Recording(tqdm):
        def close(self):
            if not self.disable:
                closed.append((self.desc, self.n, self.total))
            super().close()

    from mbert_eval.models import progress

    monkeypatch.setattr(progress, "tqdm", Recording)
    aligner = word_aligner.WordAligner(word_aligner.WordAlignerConfig(str(tiny_model), layer=1))
    pairs = [(s.split(), s.split()) for s in sentences] + [([], ["lone"])]  # a side without words: no links
    capsys.readouterr()
    quiet = aligner.align(pairs)
    assert capsys.readouterr().err == ""
    assert aligner.align(pairs, progress="alignment de") == quiet
    assert "alignment de" in capsys.readouterr().err
    assert closed[-1] == ("alignment de", len(pairs), len(pairs))  # every pair counted, the one without links too


def test_qa_answers_show_a_bar_when_named(tiny_model, sentences, capsys):
    from transformers import BertForQuestionAnswering

    from mbert_eval.data import Answer, QAExample

    examples = [QAExample(f"q{i}", "zi ?", s, (Answer(s.split()[0], 0),)) for i, s in enumerate(sentences)]
    model = BertForQuestionAnswering.from_pretrained(str(tiny_model))
    answers = get_task("xquad").answers(Prepared(model, load_tokenizer(str(tiny_model))), examples, CPU, "xquad de")
    assert len(answers) == len(examples) and "xquad de" in capsys.readouterr().err
