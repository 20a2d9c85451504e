"""Extractive QA over the synthetic family: contexts of generated sentences, questions whose answers are spans.

A context is `qa_context` sentences of the grammar (config; 3 by default). A question asks for one part of one clause: its
subject ("who ..."), verb ("... did what ..."), object ("... whom") or adverb ("how ..."). It is that clause
realized with the asked part replaced by the language's question word, in situ (in the language's own word
order, as in Japanese or Mandarin), and closed by "?"; the answer is the asked part's span of the context.
Every language asks the same questions about the same contexts, with the same ids (meaning-aligned, like
XQuAD), and each answer is its own language's realization of the same constituent.

Each question is determined by its context: a question about the subject, object or adverb names a verb
that no other clause of the context has, and a question about the verb names a subject whose meaning no other
argument of the context has. Contexts are distinct sentences, never shared between splits.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mbert_eval.data.squad import write_squad
from mbert_eval.data.types import Answer, QAExample
from mbert_eval.synthetic.grammar import (
    SCRIPT_LETTERS,
    SHIFT_OFFSET,
    Clause,
    Lexicon,
    Sentence,
    SentenceSampler,
    SyntheticLanguage,
    Token,
    meaning,
)


class SyntheticFamily(Protocol):
    """What the generator uses of `family.SyntheticFamily` (which calls it): its config, lexicons, random
    streams and realization (a protocol, so that this module needs nothing from the family's)."""

    config: Any
    lexicons: dict[str, Lexicon]

    def sampler(self, stream: str) -> SentenceSampler: ...

    def realize(self, sentence: Sentence, language: SyntheticLanguage) -> list[Token]: ...


QUESTIONS_PER_CONTEXT = 3  # at most; fewer where fewer parts of the context are determined
ROLES = ("S", "V", "O", "ADV")  # asked with the question words for who, did what, whom, how
QUESTION_MARK = "?"


@dataclass(frozen=True)
class QAItem:
    """One language-independent question: its id, its context, and what it asks (sentence, clause, role)."""

    id: str
    context: tuple[Sentence, ...]
    sentence: int
    clause: int
    role: str


def qa_items(family: SyntheticFamily, splits: tuple[str, ...]) -> dict[str, list[QAItem]]:
    """`qa_{split}` questions per split (config), about contexts drawn from each split's own random stream."""
    seen: set[Sentence] = set()
    out: dict[str, list[QAItem]] = {}
    for split in splits:
        sampler, size, items = family.sampler(f"qa:{split}"), getattr(family.config, f"qa_{split}"), []
        contexts = 0
        while len(items) < size:
            context: list[Sentence] = []
            while len(context) < family.config.qa_context:
                sentence = sampler.sentence()
                if sentence not in seen:
                    seen.add(sentence)
                    context.append(sentence)
            candidates = determined_questions(context)
            asked = sorted(sampler.rng.sample(candidates, min(QUESTIONS_PER_CONTEXT, len(candidates))))
            contexts += bool(asked)
            items += [QAItem(f"{split}-{contexts:05d}-{q}", tuple(context), *where) for q, where in enumerate(asked, 1)]
        out[split] = items[:size]
    return out


def determined_questions(context: list[Sentence]) -> list[tuple[int, int, str]]:
    """Every (sentence, clause, role) of `context` whose question has exactly one answer in it."""
    clauses = [(j, i, clause) for j, sentence in enumerate(context) for i, clause in enumerate(sentence.clauses)]
    meanings = {(j, i): _clause_meaning(clause) for j, i, clause in clauses}
    verbs = [m[1] for m in meanings.values()]
    arguments = [mention for m in meanings.values() for part in (m[0], m[2]) for mention in _mentions(part)]
    out = []
    for j, i, clause in clauses:
        subject, verb = meanings[j, i][:2]
        if verbs.count(verb) == 1:
            out.append((j, i, "S"))
            out += [(j, i, role) for role, part in (("O", clause.obj), ("ADV", clause.adv)) if part is not None]
        if arguments.count(subject) == 1:
            out.append((j, i, "V"))
    return sorted(out)


def _mentions(argument: tuple | None) -> list[tuple]:
    """What an argument's meaning (`grammar.meaning`) names: itself and, for a coordination, each conjunct (again
    so): "what did X do?" is answered by a clause of X's as well as by one of "X and Y"."""
    if argument is None:
        return []
    if argument[0] == "COORD":
        return [argument, *(mention for conjunct in argument[2] for mention in _mentions(conjunct))]
    return [argument]


def _clause_meaning(clause: Clause) -> tuple:
    """(subject, verb, object, adverb) of `clause`, each part by its meaning (`grammar.meaning`)."""
    return meaning(Sentence((clause,), None))[1][0]


def question_words(rng: random.Random, language: SyntheticLanguage, lexicon: Lexicon) -> dict[str, str]:
    """A question word per role: three CV syllables of letters the lexicon uses, unlike any word of it."""
    consonants, vowels = SCRIPT_LETTERS["Latn" if language.script == "Qaaa" else language.script]
    shift = SHIFT_OFFSET if language.script == "Qaaa" else 0
    taken = {word for words in lexicon.forms.values() for word in words}
    letters = {letter for word in taken for letter in word}
    consonants, vowels = (
        [chr(ord(c) + shift) for c in group if chr(ord(c) + shift) in letters] for group in (consonants, vowels)
    )
    out: dict[str, str] = {}
    for role in ROLES:
        word = ""
        while not word or word in taken:
            word = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(3))
        taken.add(word)
        out[role] = word
    return out


def qa_examples(
    family: SyntheticFamily, language: SyntheticLanguage, items: dict[str, list[QAItem]]
) -> dict[str, list[QAExample]]:
    """The questions of `items`, per split, realized in `language`: text, context and answer span."""
    lexicon = family.lexicons[language.code]
    words = question_words(family.sampler(f"qa-words:{language.code}").rng, language, lexicon)
    out: dict[str, list[QAExample]] = {}
    for split, split_items in items.items():
        out[split] = []
        for item in split_items:
            realized = [family.realize(sentence, language) for sentence in item.context]
            context, starts = _layout(realized)
            asked = [k for k, t in enumerate(realized[item.sentence]) if (t.clause, t.role) == (item.clause, item.role)]
            start = starts[item.sentence][asked[0]]
            end = starts[item.sentence][asked[-1]] + len(realized[item.sentence][asked[-1]].form)
            clause = item.context[item.sentence].clauses[item.clause]
            question = _question(family.realize(Sentence((clause,), None), language), item.role, words[item.role])
            out[split].append(QAExample(item.id, question, context, (Answer(context[start:end], start),)))
    return out


def _layout(sentences: list[list[Token]]) -> tuple[str, list[list[int]]]:
    """The context (words joined by spaces) and the character offset of every word of every sentence."""
    starts: list[list[int]] = []
    position = 0
    for tokens in sentences:
        starts.append([])
        for token in tokens:
            starts[-1].append(position)
            position += len(token.form) + 1
    return " ".join(token.form for tokens in sentences for token in tokens), starts


def _question(tokens: list[Token], role: str, word: str) -> str:
    """A one-clause realization with its `role` part (contiguous) replaced by `word`, and "?" for its full stop."""
    forms: list[str] = []
    for k, token in enumerate(tokens[:-1]):
        if token.role != role:
            forms.append(token.form)
        elif k == 0 or tokens[k - 1].role != role:
            forms.append(word)
    return " ".join(forms + [QUESTION_MARK])


def write_qa(path: Path, examples: list[QAExample]) -> str:
    """Write `examples` to `path` as SQuAD v1.1 JSON (`data.squad`), creating its folder; return its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_squad(path, examples)
    return hashlib.sha256(path.read_bytes()).hexdigest()
