"""The shared grammar of the synthetic family: abstract sentences, their meaning and rewrites, and realization.

An abstract sentence is a tree over language-independent *concepts* (an integer per UPOS class).
Every language realizes every leaf of a tree as exactly one word, in its own word order, so the
realizations of one tree are parallel and the gold word alignment is the identity on leaves: the
setup of K et al. (ICLR 2020, "Cross-lingual ability of multilingual BERT") and Dufter & Schütze
(EMNLP 2020, "Identifying elements essential for BERT's multilinguality").
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass, replace
from itertools import accumulate

OPEN_CLASSES = ("NOUN", "VERB", "ADJ", "ADV")
CLOSED_CLASS_SIZES = {"DET": 4, "PRON": 6, "ADP": 6, "CCONJ": 3, "NUM": 8}
AND, OR, BUT = 0, 1, 2  # the CCONJ concepts; "and" and "or" are commutative, "but" is not
COMMUTATIVE = (AND, OR)
COMMA, STOP = ",", "."  # punctuation is shared by every language, as in most real scripts

# How often each construction occurs: sentences average about 11 words.
P_CLAUSE_COORDINATION = 0.2  # two clauses joined by a CCONJ
P_INTRANSITIVE = 0.2  # a clause without object
P_ADVERB = 0.3  # a clause with an adverb
P_NP_COORDINATION = 0.1  # an argument that is two noun phrases joined by a CCONJ ...
P_NP_AND = 0.8  # ... which is "and", else "or"
P_PRONOUN = 0.15  # an argument that is a pronoun
P_NO_DETERMINER = 0.15
P_NUMERAL = 0.1  # a numeral; the noun is then plural
P_PLURAL = 0.3
P_PP = 0.2  # a noun modified by an adpositional phrase (which has none itself)
ADJECTIVE_COUNT_WEIGHTS = (0.55, 0.3, 0.15)  # probability of 0, 1 and 2 adjectives


@dataclass(frozen=True)
class Nominal:
    """A noun with its determiner, numeral, adjectives and adpositional modifier."""

    det: int | None
    num: int | None
    adjs: tuple[int, ...]
    noun: int
    plural: bool
    pp: PrepPhrase | None


@dataclass(frozen=True)
class PrepPhrase:
    """An adposition and its noun phrase (a preposition or a postposition, depending on the language)."""

    adp: int
    np: Nominal


@dataclass(frozen=True)
class Pronoun:
    """A personal pronoun standing for a whole noun phrase."""

    pron: int


@dataclass(frozen=True)
class Coordination:
    """Two noun phrases joined by a coordinating conjunction."""

    left: Nominal | Pronoun
    conj: int
    right: Nominal | Pronoun


NounPhrase = Nominal | Pronoun | Coordination


@dataclass(frozen=True)
class Clause:
    """Subject, verb, optional object and optional adverb."""

    subj: NounPhrase
    verb: int
    obj: NounPhrase | None
    adv: int | None


@dataclass(frozen=True)
class Sentence:
    """One clause, or two joined by `conj`."""

    clauses: tuple[Clause, ...]
    conj: int | None


class SentenceSampler:
    """Draws abstract sentences; each class's concepts follow Zipf's law, p(rank r) ∝ r^-s (Zipf 1949)."""

    def __init__(self, rng: random.Random, lexicon_size: int, zipf_exponent: float) -> None:
        sizes = {upos: lexicon_size for upos in OPEN_CLASSES} | CLOSED_CLASS_SIZES
        self.rng = rng
        self._cumulative = {
            upos: list(accumulate((rank + 1) ** -zipf_exponent for rank in range(n))) for upos, n in sizes.items()
        }

    def concept(self, upos: str) -> int:
        """A concept of class `upos`, frequent ranks more often."""
        cumulative = self._cumulative[upos]
        return min(bisect(cumulative, self.rng.random() * cumulative[-1]), len(cumulative) - 1)

    def sentence(self) -> Sentence:
        """A random abstract sentence."""
        if self.rng.random() < P_CLAUSE_COORDINATION:
            return Sentence((self._clause(), self._clause()), self.concept("CCONJ"))
        return Sentence((self._clause(),), None)

    def _nominal(self, with_pp: bool = True) -> Nominal:
        rng = self.rng
        num = self.concept("NUM") if rng.random() < P_NUMERAL else None
        plural = num is not None or rng.random() < P_PLURAL
        det = None if rng.random() < P_NO_DETERMINER else self.concept("DET")
        n_adjs = rng.choices(range(len(ADJECTIVE_COUNT_WEIGHTS)), weights=ADJECTIVE_COUNT_WEIGHTS)[0]
        adjs = tuple(self.concept("ADJ") for _ in range(n_adjs))
        noun = self.concept("NOUN")
        pp = PrepPhrase(self.concept("ADP"), self._nominal(False)) if with_pp and rng.random() < P_PP else None
        return Nominal(det, num, adjs, noun, plural, pp)

    def _clause(self) -> Clause:
        subj = self._argument()
        verb = self.concept("VERB")
        obj = None if self.rng.random() < P_INTRANSITIVE else self._argument()
        adv = self.concept("ADV") if self.rng.random() < P_ADVERB else None
        return Clause(subj, verb, obj, adv)

    def _argument(self) -> NounPhrase:
        if self.rng.random() < P_NP_COORDINATION:
            conj = AND if self.rng.random() < P_NP_AND else OR
            return Coordination(self._simple_argument(), conj, self._simple_argument())
        return self._simple_argument()

    def _simple_argument(self) -> Nominal | Pronoun:
        return Pronoun(self.concept("PRON")) if self.rng.random() < P_PRONOUN else self._nominal()


def meaning(sentence: Sentence) -> tuple:
    """A canonical form: two trees mean the same iff their meanings are equal.

    Coordination with "and"/"or" is commutative and adjectives are intersective (their order does not
    matter); everything else, including who does what to whom, is meaningful.
    """
    clauses = [_clause_meaning(clause) for clause in sentence.clauses]
    if sentence.conj in COMMUTATIVE:
        clauses.sort(key=repr)
    return (sentence.conj, tuple(clauses))


def _clause_meaning(clause: Clause) -> tuple:
    obj = None if clause.obj is None else _np_meaning(clause.obj)
    return (_np_meaning(clause.subj), clause.verb, obj, clause.adv)


def _np_meaning(np: NounPhrase) -> tuple:
    if isinstance(np, Pronoun):
        return ("PRON", np.pron)
    if isinstance(np, Coordination):
        parts = [_np_meaning(np.left), _np_meaning(np.right)]
        if np.conj in COMMUTATIVE:
            parts.sort(key=repr)
        return ("COORD", np.conj, tuple(parts))
    pp = None if np.pp is None else (np.pp.adp, _np_meaning(np.pp.np))
    return ("N", np.det, np.num, tuple(sorted(np.adjs)), np.noun, np.plural, pp)


def rewrites(sentence: Sentence, sampler: SentenceSampler) -> list[tuple[str, Sentence]]:
    """Every one-step rewrite of `sentence` that changes the tree, as (kind, new sentence).

    Kinds: "swap-clauses", "swap-conjuncts", "reorder-adjectives" (word-order changes that may keep the
    meaning), "swap-arguments" (subject and object, PAWS-style word swapping; Zhang et al. 2019) and
    "replace-noun" (one noun by another). Whether a rewrite is a paraphrase is decided by `meaning`.
    """
    out: list[tuple[str, Sentence]] = []
    clauses = sentence.clauses
    if len(clauses) == 2:
        out.append(("swap-clauses", replace(sentence, clauses=(clauses[1], clauses[0]))))
    for i, clause in enumerate(clauses):

        def with_clause(new: Clause, i: int = i) -> Sentence:
            return replace(sentence, clauses=clauses[:i] + (new,) + clauses[i + 1 :])

        if clause.obj is not None:
            out.append(("swap-arguments", with_clause(replace(clause, subj=clause.obj, obj=clause.subj))))
            out += [(kind, with_clause(replace(clause, obj=np))) for kind, np in _np_rewrites(clause.obj, sampler)]
        out += [(kind, with_clause(replace(clause, subj=np))) for kind, np in _np_rewrites(clause.subj, sampler)]
    return [(kind, new) for kind, new in out if new != sentence]


def _np_rewrites(np: NounPhrase, sampler: SentenceSampler) -> list[tuple[str, NounPhrase]]:
    if isinstance(np, Pronoun):
        return []
    if isinstance(np, Coordination):
        out: list[tuple[str, NounPhrase]] = [("swap-conjuncts", replace(np, left=np.right, right=np.left))]
        out += [(kind, replace(np, left=new)) for kind, new in _np_rewrites(np.left, sampler)]
        out += [(kind, replace(np, right=new)) for kind, new in _np_rewrites(np.right, sampler)]
        return out
    out = [("replace-noun", replace(np, noun=sampler.concept("NOUN")))]
    if len(np.adjs) > 1:
        out.append(("reorder-adjectives", replace(np, adjs=np.adjs[::-1])))
    if np.pp is not None:
        out += [(kind, replace(np, pp=replace(np.pp, np=new))) for kind, new in _np_rewrites(np.pp.np, sampler)]
    return out


@dataclass(frozen=True)
class SyntheticLanguage:
    """One language of the family: its ISO 639 local-use code, script (ISO 15924) and word order."""

    code: str
    name: str
    script: str  # Latn, Cyrl, Grek, or Qaaa for Latin letters shifted into an otherwise unused block
    clause_order: str  # SVO, SOV or VSO
    adjective_position: str  # "before" or "after" the noun
    adposition: str  # "preposition" or "postposition"


@dataclass(frozen=True)
class Lexicon:
    """A language's word for each concept (a bijection per class) and its plural noun suffix."""

    forms: dict[str, tuple[str, ...]]  # UPOS -> form of concept 0, 1, ...
    plural_suffix: str

    def surface_forms(self) -> set[str]:
        """Every word the language writes: each concept's word, and each noun's plural."""
        words = {word for forms in self.forms.values() for word in forms}
        return words | {noun + self.plural_suffix for noun in self.forms["NOUN"]}


# Letters each script draws its syllables from: (consonants, vowels). Qaaa (shifted) draws Latin
# letters and moves them by SHIFT_OFFSET, a-z onto the Armenian small letters U+0561-U+057A, a block
# no other member uses, so the shifted language shares no character with any other (like the "fake"
# language of Dufter & Schütze 2020, but with its own lexicon).
SCRIPT_LETTERS = {
    "Latn": ("bcdfghjklmnprstvwz", "aeiou"),
    "Cyrl": ("бвгджзклмнпрстфхцчш", "аеиоуыэя"),
    "Grek": ("βγδζθκλμνξπρστφχ", "αεηιουω"),
}
SHIFT_OFFSET = 0x0500


def build_lexicon(rng: random.Random, script: str, lexicon_size: int, taken: set[str] | None = None) -> Lexicon:
    """A lexicon from a syllable inventory drawn with `rng`; frequent concepts get short words, none of `taken`
    (the other languages' words and plural forms, so that two languages of one script share no word: the family
    passes them; a drawn word that is taken is drawn again, so a family without such a collision is unchanged).

    Short words for frequent concepts follow Zipf's law of abbreviation (Zipf 1935). The plural suffix
    uses a consonant no stem has, so plural forms never collide with other words.
    """
    taken = set() if taken is None else taken
    consonants, vowels = SCRIPT_LETTERS["Latn" if script == "Qaaa" else script]
    shift = {ord(c): ord(c) + SHIFT_OFFSET for c in consonants + vowels} if script == "Qaaa" else {}
    chosen = rng.sample(consonants, 11)
    plural_consonant, onsets = chosen[0], chosen[1:]
    nuclei = rng.sample(vowels, 4)
    codas = [""] + rng.sample(onsets, 3)
    syllables = [c + v + k for c in onsets for v in nuclei for k in codas]
    used: set[str] = set()
    forms: dict[str, tuple[str, ...]] = {}
    sizes = CLOSED_CLASS_SIZES | {upos: lexicon_size for upos in OPEN_CLASSES}
    for upos, size in sizes.items():
        lengths = (1,) if upos in CLOSED_CLASS_SIZES else (2, 2, 3)
        words: list[str] = []
        while len(words) < size:
            word = "".join(rng.choice(syllables) for _ in range(rng.choice(lengths)))
            if word not in used and word.translate(shift) not in taken:
                used.add(word)
                words.append(word)
        forms[upos] = tuple(sorted(words, key=len))
    suffix = plural_consonant + rng.choice(nuclei)
    shifted = {upos: tuple(word.translate(shift) for word in words) for upos, words in forms.items()}
    return Lexicon(shifted, suffix.translate(shift))


@dataclass(frozen=True)
class Token:
    """A realized word, with where it came from in the abstract tree.

    `leaf` names the tree position ("c0/S/adj1"); words with equal leaves in two realizations are
    translations of each other. `role` is S, V, O or ADV inside clause `clause`; "" (clause -1) for the
    conjunction and punctuation between and after clauses.
    """

    form: str
    upos: str
    leaf: str
    role: str
    clause: int


def realize(sentence: Sentence, language: SyntheticLanguage, lexicon: Lexicon) -> list[Token]:
    """The words of `sentence` in `language`, in its word order."""
    out: list[Token] = []
    for i, clause in enumerate(sentence.clauses):
        if i:
            out.append(Token(COMMA, "PUNCT", "comma", "", -1))
            out.append(Token(lexicon.forms["CCONJ"][sentence.conj], "CCONJ", "conj", "", -1))
        out += _Realizer(language, lexicon, i).clause(clause)
    out.append(Token(STOP, "PUNCT", "stop", "", -1))
    return out


class _Realizer:
    """Linearizes one clause: clause order, adjective position and adposition placement."""

    def __init__(self, language: SyntheticLanguage, lexicon: Lexicon, clause: int) -> None:
        self.language, self.lexicon, self.index = language, lexicon, clause

    def word(self, upos: str, concept: int, leaf: str, role: str, suffix: str = "") -> Token:
        return Token(self.lexicon.forms[upos][concept] + suffix, upos, f"c{self.index}/{leaf}", role, self.index)

    def clause(self, clause: Clause) -> list[Token]:
        parts = {
            "S": self.np(clause.subj, "S", "S"),
            "V": [self.word("VERB", clause.verb, "V", "V")],
            "O": [] if clause.obj is None else self.np(clause.obj, "O", "O"),
        }
        adverb = [] if clause.adv is None else [self.word("ADV", clause.adv, "ADV", "ADV")]
        verb_final = self.language.clause_order.endswith("V")
        out: list[Token] = []
        for role in self.language.clause_order:
            if role == "V" and verb_final:
                out += adverb  # head-final languages put the adverb before the verb
            out += parts[role]
        return out if verb_final else out + adverb

    def np(self, np: NounPhrase, path: str, role: str) -> list[Token]:
        if isinstance(np, Pronoun):
            return [self.word("PRON", np.pron, f"{path}/pron", role)]
        if isinstance(np, Coordination):
            conj = self.word("CCONJ", np.conj, f"{path}/conj", role)
            return self.np(np.left, f"{path}/l", role) + [conj] + self.np(np.right, f"{path}/r", role)
        head = [] if np.det is None else [self.word("DET", np.det, f"{path}/det", role)]
        if np.num is not None:
            head.append(self.word("NUM", np.num, f"{path}/num", role))
        adjs = [self.word("ADJ", adj, f"{path}/adj{k}", role) for k, adj in enumerate(np.adjs)]
        noun = self.word("NOUN", np.noun, f"{path}/noun", role, self.lexicon.plural_suffix if np.plural else "")
        head += adjs + [noun] if self.language.adjective_position == "before" else [noun] + adjs
        if np.pp is None:
            return head
        adp = self.word("ADP", np.pp.adp, f"{path}/pp/adp", role)
        inner = self.np(np.pp.np, f"{path}/pp", role)
        if self.language.adposition == "preposition":
            return head + [adp] + inner  # head-initial: the modifier follows the noun
        return inner + [adp] + head  # head-final: the modifier precedes the noun
