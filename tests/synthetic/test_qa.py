"""The synthetic family's extractive QA: exact spans, meaning-aligned ids and answers, questions in each language's
own words and order, answers determined by their question, determinism."""

import unicodedata
from dataclasses import replace

import pytest

from mbert_eval.data import QAExample, read_squad
from mbert_eval.synthetic.family import (
    SPLITS,
    FamilyManifest,
    SynthConfig,
    SyntheticFamily,
    generate_family,
)
from mbert_eval.synthetic.grammar import Clause, Sentence, SyntheticLanguage
from mbert_eval.synthetic.qa import (
    QUESTIONS_PER_CONTEXT,
    qa_items,
    question_words,
)

CONFIG = SynthConfig(
    n_monolingual=10, n_train=4, n_dev=2, n_test=2, n_parallel=2, lexicon_size=40, qa_train=90, qa_dev=30, qa_test=31
)
SCRIPT_PREFIX = {"Latn": "LATIN", "Cyrl": "CYRILLIC", "Grek": "GREEK", "Qaaa": "ARMENIAN"}


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> FamilyManifest:
    return generate_family(tmp_path_factory.mktemp("family"), CONFIG)


@pytest.fixture(scope="module")
def synth() -> SyntheticFamily:
    return SyntheticFamily(CONFIG)


@pytest.fixture(scope="module")
def examples(family: FamilyManifest) -> dict[tuple[str, str], list[QAExample]]:
    return {
        (lang.code, split): read_squad(family.qa(lang.code, split)) for lang in family.languages for split in SPLITS
    }


def _wh_words(synth: SyntheticFamily) -> dict[str, dict[str, str]]:
    return {
        lang.code: question_words(synth.sampler(f"qa-words:{lang.code}").rng, lang, synth.lexicons[lang.code])
        for lang in synth.languages
    }


def test_every_answer_is_an_exact_span_of_whole_words(examples: dict) -> None:
    for questions in examples.values():
        for example in questions:
            (answer,) = example.answers
            assert example.context[answer.start : answer.start + len(answer.text)] == answer.text
            words = f" {example.context} "
            assert f" {answer.text} " in words[answer.start : answer.start + len(answer.text) + 2]
            assert answer.text.strip() == answer.text and answer.text not in (".", ",")


def test_ids_sizes_and_contexts_align_across_languages(family: FamilyManifest, examples: dict) -> None:
    codes = [lang.code for lang in family.languages]
    context_sentences: dict[str, set[str]] = {}
    for split in SPLITS:
        ids = [[example.id for example in examples[code, split]] for code in codes]
        assert len(ids[0]) == getattr(CONFIG, f"qa_{split}") == len(set(ids[0]))
        assert all(other == ids[0] for other in ids[1:])
        assert all(i.startswith(f"{split}-") for i in ids[0])
        per_context: dict[str, int] = {}
        for example in examples[codes[0], split]:
            context = example.id.rsplit("-", 1)[0]
            per_context[context] = per_context.get(context, 0) + 1
        assert max(per_context.values()) <= QUESTIONS_PER_CONTEXT
        base = examples[codes[0], split]
        assert all(e.context.count(" . ") == family.config.qa_context - 1 and e.context.endswith(" .") for e in base)
        context_sentences[split] = {s for e in base for s in e.context.removesuffix(" .").split(" . ")}
    assert not context_sentences["train"] & (context_sentences["dev"] | context_sentences["test"])
    assert not context_sentences["dev"] & context_sentences["test"]


def test_answers_realize_the_same_constituent_in_every_language(
    family: FamilyManifest, synth: SyntheticFamily, examples: dict
) -> None:
    items = qa_items(synth, SPLITS)
    for split in SPLITS:
        for k, item in enumerate(items[split]):
            answered = set()
            for lang in family.languages:
                example = examples[lang.code, split][k]
                assert example.id == item.id
                realized = [synth.realize(sentence, lang) for sentence in item.context]
                (answer,) = example.answers
                covered, position = [], 0
                for j, tokens in enumerate(realized):
                    for token in tokens:
                        if answer.start <= position < answer.start + len(answer.text):
                            covered.append((j, token.clause, token.role, token.leaf))
                        position += len(token.form) + 1
                assert {c[:3] for c in covered} == {(item.sentence, item.clause, item.role)}
                asked = [t for t in realized[item.sentence] if (t.clause, t.role) == (item.clause, item.role)]
                assert len(covered) == len(asked)  # the whole constituent, which is contiguous
                answered.add(frozenset(c[3] for c in covered))
            assert len(answered) == 1  # the same tree positions: the same meaning


def test_questions_are_the_clause_with_a_question_word_in_the_languages_order(
    family: FamilyManifest, synth: SyntheticFamily, examples: dict
) -> None:
    words = _wh_words(synth)
    items = qa_items(synth, SPLITS)
    for lang in family.languages:
        lexicon = {word for forms in synth.lexicons[lang.code].forms.values() for word in forms}
        assert len(set(words[lang.code].values())) == 4 and not set(words[lang.code].values()) & lexicon
        letters = {letter for word in words[lang.code].values() for letter in word}
        assert all(unicodedata.name(letter).startswith(SCRIPT_PREFIX[lang.script]) for letter in letters)
        for split in SPLITS:
            for item, example in zip(items[split], examples[lang.code, split]):
                wh = words[lang.code][item.role]
                tokens = example.question.split()
                assert tokens[-1] == "?" and tokens.count(wh) == 1
                clause = example.question.removesuffix(" ?").replace(wh, example.answers[0].text)
                assert f" {clause} " in f" {example.context} "  # the gap filled is the clause of the context
                if item.role == "S":  # in situ: the subject question word stands where the subject does
                    assert tokens.index(wh) == (1 if lang.clause_order == "VSO" else 0)
    for split in SPLITS:
        for k in range(len(items[split])):
            questions = [examples[lang.code, split][k].question for lang in family.languages]
            assert len(set(questions)) == len(questions)
            shared = set.intersection(*(set(q.split()) for q in questions))
            assert shared == {"?"}  # disjoint vocabularies: only the punctuation is shared


def test_every_question_has_one_answer_in_its_context(
    family: FamilyManifest, synth: SyntheticFamily, examples: dict
) -> None:
    words = _wh_words(synth)
    items = qa_items(synth, SPLITS)
    roles = {item.role for split in SPLITS for item in items[split]}
    assert roles == {"S", "V", "O", "ADV"}
    for lang in family.languages:
        verbs = set(synth.lexicons[lang.code].forms["VERB"])
        for split in SPLITS:
            for item, example in zip(items[split], examples[lang.code, split]):
                if item.role != "V":  # the question names a verb that occurs once in the context
                    (verb,) = [word for word in example.question.split() if word in verbs]
                    assert example.context.split().count(verb) == 1
                # no other part of the context gives the same question
                same = [
                    (j, i, role)
                    for j, sentence in enumerate(item.context)
                    for i, clause in enumerate(sentence.clauses)
                    for role in ("S", "V", "O", "ADV")
                    if (role != "O" or clause.obj is not None)
                    and (role != "ADV" or clause.adv is not None)
                    and _question(synth, lang, clause, role, words[lang.code][role]) == example.question
                ]
                assert same == [(item.sentence, item.clause, item.role)]


def _question(synth: SyntheticFamily, lang: SyntheticLanguage, clause: Clause, role: str, wh: str) -> str:
    """The question about `role` of `clause`, rebuilt from the realization's roles."""
    tokens = synth.realize(Sentence((clause,), None), lang)[:-1]
    forms = [token.form for token in tokens if token.role != role]
    first = next(k for k, token in enumerate(tokens) if token.role == role)
    return " ".join(forms[:first] + [wh] + forms[first:] + ["?"])


def test_fixed_seed_is_deterministic_and_sizes_only_cut_the_draw(synth: SyntheticFamily) -> None:
    items = qa_items(synth, SPLITS)
    assert qa_items(SyntheticFamily(CONFIG), SPLITS) == items
    fewer = qa_items(SyntheticFamily(replace(CONFIG, qa_train=40)), SPLITS)
    assert fewer["train"] == items["train"][:40]
    assert qa_items(SyntheticFamily(replace(CONFIG, seed=1)), SPLITS)["train"] != items["train"]


def test_a_subject_coordinated_in_another_clause_gets_no_what_did_it_do_question():
    """ "What did su do?" has two answers where su also does something as one of "su and X": the question was
    asked with one gold answer (2 of seed 0's 1,000 training questions)."""
    from mbert_eval.synthetic.grammar import AND, Coordination, Pronoun
    from mbert_eval.synthetic.qa import determined_questions

    su, other = Pronoun(0), Pronoun(1)
    alone = Sentence((Clause(su, 1, None, None),), None)
    together = Sentence((Clause(Coordination(su, AND, other), 2, None, None),), None)
    asked = determined_questions([alone, together])
    assert (0, 0, "V") not in asked and (0, 0, "S") in asked  # "who did verb 1?" still has one answer
    assert (0, 0, "V") in determined_questions([alone, Sentence((Clause(other, 2, None, None),), None)])
