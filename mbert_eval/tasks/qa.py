"""Extractive question answering, XTREME's three QA tasks (Hu et al. 2020): fine-tuned once on English SQuAD
v1.1 (Rajpurkar et al. 2016) for 2 epochs, evaluated zero-shot on XQuAD (Artetxe et al. 2020), MLQA (Lewis et
al. 2020) and TyDiQA-GoldP (Clark et al. 2020).

The model predicts a start and an end logit per token (a span head, Devlin et al. 2019); windowing and decoding
are `tasks/qa_windows.py`'s. Scores are exact match and token F1 (fractions), each the maximum over a question's
gold answers, and `em_f1` = (EM + F1) / 2, XTREME's summary of a QA task. XQuAD and TyDiQA are scored with
SQuAD v1.1's normalization and, for the languages MLQA's script knows, also with MLQA's language-aware one
(`mlqa_*`); MLQA is scored with MLQA's. The windows are XTREME's 384 tokens (not `training.max_length`),
shared by training and evaluation.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from mbert_eval.data import QAExample, read_hub_squad, read_squad
from mbert_eval.data.spec import DataSpec
from mbert_eval.errors import UserError
from mbert_eval.languages import Language, lookup
from mbert_eval.metrics.outputs import ExampleOutputs, Scores
from mbert_eval.metrics.squad import MLQA_LANGUAGES, qa_scores, question_scores
from mbert_eval.models.specs import position_limit
from mbert_eval.tasks.base import Prepared
from mbert_eval.tasks.fine_tuned import TrainedTask
from mbert_eval.tasks.metadata import TaskMetadata
from mbert_eval.tasks.qa_windows import (
    Windowing,
    answer_texts,
    encode_windows,
    predict_spans,
)
from mbert_eval.training.features import SPAN_LABELS, Features
from mbert_eval.training.fine_tuning import FineTuning

if TYPE_CHECKING:  # the training code (torch) is imported where a model is built: naming or checking needs none
    import torch

PAIR_SPECIAL_TOKENS = 3  # the fewest a question-context pair takes: BERT's [CLS] q [SEP] c [SEP] (`validate`)
DEFAULT_LANGUAGE = "en"  # of examples that come without one (SQuAD-format data is English unless a cell says so)
SCORE_DESCRIPTIONS = {
    "exact_match": "share of questions whose normalized prediction equals a normalized gold answer",
    "f1": "token F1 between the normalized prediction and the best-matching gold answer, averaged over questions",
    "em_f1": "(exact_match + f1) / 2, the summary XTREME reports for a QA task",
}
SQUAD_NORMALIZATION = "SQuAD v1.1's normalization, Rajpurkar et al. 2016"
MLQA_NORMALIZATION = "MLQA's language-aware normalization, Lewis et al. 2020"


class QAExamples(list):
    """One language's QA examples and its code: MLQA's normalization depends on the answer language."""

    def __init__(self, examples: list[QAExample], language: str) -> None:
        super().__init__(examples)
        self.language = language


class QATask(TrainedTask):
    """Extractive QA over SQuAD-format data: train on the source language's `train`, keep the last epoch (as
    XTREME's `train_qa.sh` keeps its final model; `dev` F1 is only logged per epoch: SQuAD v1.1's dev set, the
    default, holds XQuAD's 240 paragraphs, so choosing on it would look at the test set), answer each target's
    `test` questions with context spans. Fine-tuning is the one `TrainedTask.prepare`, with a span head and the
    task's windows."""

    head = "span"
    keeps_best_dev_epoch = False

    style: ClassVar[str] = "squad"  # the normalization of the main scores
    also_mlqa: ClassVar[bool] = True  # also store the mlqa_* scores, for the languages MLQA's script knows
    windowing: ClassVar[Windowing] = Windowing()

    def read_file(self, path) -> list[QAExample]:
        return read_squad(path)

    def passages(self, example: QAExample) -> tuple[str, ...]:
        """The paragraph the question asks about: XQuAD's questions on one paragraph stand in a row, and the
        paragraph is translated with them (Artetxe et al. 2020)."""
        return (example.context,)

    def read_hub(self, dataset: str, config: str | None, split: str, revision: str | None = None) -> list[QAExample]:
        return read_hub_squad(dataset, config, split, revision)

    def source_examples(self, source: Language) -> tuple[list, list]:
        train, dev = super().source_examples(source)
        return train, self.in_language(dev, source.code)

    def target_examples(self, target: Language) -> list:
        return self.in_language(super().target_examples(target), target.code)

    def language_problem(self, language: Language) -> str | None:
        """MLQA's normalization knows seven languages; a task scored with it refuses the others."""
        if self.style == "mlqa" and language.code not in MLQA_LANGUAGES:
            return f"MLQA's normalization knows {', '.join(MLQA_LANGUAGES)}, not '{language.code}'"
        return None

    def in_language(self, examples: list[QAExample], language: str) -> QAExamples:
        """`examples` marked as `language`'s; a language the main normalization does not know is an error here,
        where a cell reads its data, before any fine-tuning."""
        problem = self.language_problem(lookup(language))
        if problem:
            raise UserError(f"task '{self.metadata.name}': {problem}")
        return QAExamples(examples, language)

    def num_labels(self, labels: list[str]) -> int:
        return 2  # a start and an end logit per token

    def mix_model(self, encoder: torch.nn.Module, num_labels: int) -> torch.nn.Module:
        from mbert_eval.training.scalar_mix import SpanMix

        return SpanMix(encoder)

    def source_features(
        self, model: torch.nn.Module, tokenizer, train: list, dev: list, labels: list[str], fine_tuning: FineTuning
    ) -> tuple[list[Features], list[Features], dict[str, object]]:
        """The task's windows (not `training.max_length`), with span labels for training."""
        windowing = self.fitted_windowing(model, tokenizer)
        train_features = encode_windows(train, tokenizer, windowing, labelled=True)
        return train_features, encode_windows(dev, tokenizer, windowing, labelled=False), {}

    def dev_metric(
        self,
        model: torch.nn.Module,
        dev: list,
        features: list[Features],
        labels: list[str],
        pad_id: int,
        device: torch.device,
        fine_tuning: FineTuning,
    ) -> float:
        spans = predict_spans(model, features, pad_id, device, fine_tuning.training.eval_batch_size)
        return self.score(dev, answer_texts(dev, features, spans))["f1"]

    def cache_features(self, features: list[Features]) -> list[Features]:
        return [{k: v for k, v in f.items() if k not in SPAN_LABELS} for f in features]  # the encoder takes none

    def evaluate(self, prepared: Prepared, examples: list, device: torch.device, progress: str | None = None) -> Scores:
        """Answer every question of one target language and score the answers."""
        return self.score(examples, self.answers(prepared, examples, device, progress))

    def answers(
        self, prepared: Prepared, examples: list[QAExample], device: torch.device, progress: str | None = None
    ) -> list[str]:
        """The predicted answer of each example: a substring of its context."""
        features = encode_windows(
            examples, prepared.tokenizer, self.fitted_windowing(prepared.model, prepared.tokenizer), labelled=False
        )
        spans = predict_spans(prepared.model, features, prepared.tokenizer.pad_token_id or 0, device, progress=progress)
        return answer_texts(examples, features, spans)

    def positions_problem(self, positions: int) -> str | None:
        """Whether the task's windows fit `positions` with at least BERT's three special tokens (`fitted`)."""
        try:
            self.windowing.fitted(positions, PAIR_SPECIAL_TOKENS)
        except UserError as err:
            return str(err)
        return None

    def fitted_windowing(self, model: torch.nn.Module, tokenizer) -> Windowing:
        """The task's windows within the model's positions."""
        positions = position_limit(model.config.to_dict()) or self.windowing.max_length
        return self.windowing.fitted(positions, tokenizer.num_special_tokens_to_add(pair=True))

    def score(self, examples: list[QAExample], answers: list[str]) -> Scores:
        """f1 (main), exact_match and em_f1 under the task's normalization; `mlqa_*` under MLQA's as well, where
        the task asks for them and the language is one of MLQA's. Per question, its F1 (the best over its gold
        answers, averaged: `mean`), with the gold answers and the predicted one; no chance level."""
        language = getattr(examples, "language", DEFAULT_LANGUAGE)
        predictions = {str(i): answer for i, answer in enumerate(answers)}
        golds = {str(i): [answer.text for answer in example.answers] for i, example in enumerate(examples)}
        main = qa_scores(predictions, golds, language, self.style)
        scores = {"f1": main["f1"], "exact_match": main["exact_match"], "em_f1": (main["exact_match"] + main["f1"]) / 2}
        if self.also_mlqa and language in MLQA_LANGUAGES:
            mlqa = qa_scores(predictions, golds, language, "mlqa")
            scores.update(mlqa_f1=mlqa["f1"], mlqa_exact_match=mlqa["exact_match"])
        per_question = question_scores(predictions, golds, language, self.style)
        outputs = ExampleOutputs(
            self.metadata.name,
            "f1",
            "mean",
            [[per_question[key][1]] for key in golds],
            list(golds.values()),
            answers,
        )
        return Scores(scores, outputs)


def qa_metadata(
    name: str, description: str, reference: str, hub_test: str, normalization: str, also_mlqa: bool
) -> TaskMetadata:
    """The shared metadata of XTREME's QA tasks: SQuAD v1.1 training data, 2 epochs, F1 main; version 2: the
    last epoch kept, not the best on dev (`QATask`)."""
    described = {
        metric: f"{what} ({normalization}" + ("; main metric)" if metric == "f1" else ")")
        for metric, what in SCORE_DESCRIPTIONS.items()
    }
    if also_mlqa:
        only = f"{MLQA_NORMALIZATION}; stored for {', '.join(MLQA_LANGUAGES)} only"
        described.update(mlqa_f1=f"f1 under {only}", mlqa_exact_match=f"exact_match under {only}")
    return TaskMetadata(
        name=name,
        description=description,
        main_metric="f1",
        reference=reference,
        version=2,
        epochs=2,
        hub_train="hub:rajpurkar/squad@plain_text:train",
        hub_dev="hub:rajpurkar/squad@plain_text:validation",
        hub_test=hub_test,
        metric_descriptions=described,
        xtreme=name,
        xtreme_metrics=("exact_match", "f1"),
    )


WINDOWS = "384-token windows, stride 128"


class XQuADTask(QATask):
    """XQuAD: 240 SQuAD v1.1 dev paragraphs (1,190 questions) translated professionally into 10 languages."""

    metadata = qa_metadata(
        "xquad",
        f"Cross-lingual extractive QA on XQuAD, trained on SQuAD v1.1 ({WINDOWS}), F1",
        "Artetxe et al. 2020, XQuAD; Rajpurkar et al. 2016, SQuAD; Hu et al. 2020, XTREME",
        "hub:google/xquad@xquad.{lang}:validation",
        SQUAD_NORMALIZATION,
        also_mlqa=True,
    )


class MLQATask(QATask):
    """MLQA: questions and contexts in the same language (the `MLQA.{lang}.{lang}` test sets), scored with
    MLQA's own language-aware normalization."""

    metadata = qa_metadata(
        "mlqa",
        f"Cross-lingual extractive QA on MLQA, trained on SQuAD v1.1 ({WINDOWS}), F1",
        "Lewis et al. 2020, MLQA; Rajpurkar et al. 2016, SQuAD; Hu et al. 2020, XTREME",
        "hub:google/xtreme@MLQA.{lang}.{lang}:test",
        MLQA_NORMALIZATION,
        also_mlqa=False,
    )
    style = "mlqa"
    also_mlqa = False


# TyDiQA-GoldP ids start with the language's English name (Clark et al. 2020), e.g. `arabic-2387335860751143628-1`
TYDIQA_ID_LANGUAGES = {
    "arabic": "ar",
    "bengali": "bn",
    "english": "en",
    "finnish": "fi",
    "indonesian": "id",
    "korean": "ko",
    "russian": "ru",
    "swahili": "sw",
    "telugu": "te",
}


def tydiqa_language(question_id: str) -> str | None:
    """The language code a TyDiQA-GoldP id names (`arabic-…` → `ar`), or None."""
    return TYDIQA_ID_LANGUAGES.get(question_id.split("-", 1)[0])


class TyDiQATask(QATask):
    """TyDiQA-GoldP: questions written in each language, with the gold passage. The Hub's `google/xtreme`
    `tydiqa` validation split holds every language's questions in one split; each target is scored on its own
    questions, picked by the language its ids start with (`arabic-…`), and rows record the narrowing in the test
    spec (`… (only ar)`). A local file (XTREME's `tydiqa-goldp-dev-{language}.json`) is read as it is."""

    metadata = replace(
        qa_metadata(
            "tydiqa",
            f"Cross-lingual extractive QA on TyDiQA-GoldP, trained on SQuAD v1.1 ({WINDOWS}), F1",
            "Clark et al. 2020, TyDi QA; Rajpurkar et al. 2016, SQuAD; Hu et al. 2020, XTREME",
            "hub:google/xtreme@tydiqa:validation",
            SQUAD_NORMALIZATION,
            also_mlqa=True,
        ),
        version=3,
    )  # 2: targets are scored on their own questions, not the whole mixed split; 3: the last epoch kept

    def spec(self, key: str, language: Language) -> DataSpec:
        """A Hub test split is narrowed to `language`'s questions."""
        spec = super().spec(key, language)
        return replace(spec, language=language.code) if key == "test" and spec.is_hub else spec

    def load(self, spec: DataSpec) -> list:
        """The examples of `spec`; where it is narrowed to a language, that language's questions (then sliced);
        a split with none of them is a one-line error naming the languages it has."""
        if spec.language is None:
            return super().load(spec)
        whole = super().load(DataSpec(spec.location))
        mine = [example for example in whole if tydiqa_language(example.id) == spec.language]
        if not mine:
            present = sorted({tydiqa_language(example.id) or "unknown" for example in whole})
            raise UserError(
                f"no {spec.language} questions in {spec.location} (TyDiQA ids name their language; "
                f"these name {', '.join(present)})"
            )
        selected = mine[spec.start : spec.stop]
        if not selected:
            raise UserError(f"no examples in {spec} (it holds {len(mine)} {spec.language} questions)")
        return selected
