"""Reading YAML as configs, jobs files and overrides are read (`config.yaml_reader`): the limits sit where they
say, and what is within them reads as plain YAML does."""

from __future__ import annotations

import math
import time

import pytest
import yaml

from mbert_eval.config.yaml_reader import MAX_DEPTH, MAX_VALUES, parse_yaml
from mbert_eval.errors import UserError, shown


def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_depth_limit_is_exact() -> None:
    assert parse_yaml(_nested(MAX_DEPTH), "x") == yaml.safe_load(_nested(MAX_DEPTH))
    with pytest.raises(UserError, match=f"^x:1: nested more than {MAX_DEPTH} levels deep$"):
        parse_yaml(_nested(MAX_DEPTH + 1), "x")


def test_value_limit_counts_what_aliases_expand_to() -> None:
    per_alias = 1 + 1000  # a list node and its items
    within = "a: &a [" + ", ".join(["x"] * 1000) + "]\nb: [" + ", ".join(["*a"] * 90) + "]\n"
    assert len(parse_yaml(within, "x")["b"]) == 90
    beyond = within + "c: [" + ", ".join(["*a"] * (MAX_VALUES // per_alias + 1)) + "]\n"
    with pytest.raises(UserError, match=f"^x:3: expands to more than {MAX_VALUES:,} values"):
        parse_yaml(beyond, "x")


def test_a_billion_value_bomb_is_refused_at_once() -> None:
    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
    )
    started = time.monotonic()
    with pytest.raises(UserError, match="expands to more than"):
        parse_yaml(bomb, "x")
    assert time.monotonic() - started < 2


def test_duplicates_name_both_lines_and_merge_keys_may_be_overridden() -> None:
    with pytest.raises(UserError, match=r"^exp.yaml:3: duplicate key 'training' \(first at line 1\)$"):
        parse_yaml("training: {epochs: 1}\nname: a\ntraining: {epochs: 2}\n", "exp.yaml")
    merged = parse_yaml("base: &b {epochs: 1, batch_size: 8}\ntraining:\n  <<: *b\n  epochs: 3\n", "x")
    assert merged["training"] == {"epochs": 3, "batch_size": 8}
    with pytest.raises(UserError, match="duplicate key 1"):
        parse_yaml("1: a\n1: b\n", "x")


def test_unsafe_tags_and_the_problem_without_lines() -> None:
    with pytest.raises(UserError, match=r"^override 'x': not valid YAML \(could not determine a constructor"):
        parse_yaml("!!python/object/apply:os.system ['true']", "override 'x'", lines=False)


def test_shown_cuts_huge_values_without_writing_them_out() -> None:
    huge = [[list(range(1000))] * 1000] * 1000  # a billion items by reference
    started = time.monotonic()
    text = shown(huge)
    assert len(text) <= 80 and time.monotonic() - started < 1
    assert len(shown("b" * 100_000)) <= 80 and "..." in shown("b" * 100_000)
    assert shown(10**40) == str(10**40)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("no", "no"),  # Norwegian, not false (YAML 1.1 read yes/no/on/off/y/n as booleans)
        ("[de, no, on, off, yes, y, n]", ["de", "no", "on", "off", "yes", "y", "n"]),
        ("010", 10),  # not octal 8
        ("1:30", "1:30"),  # not base 60 (90)
        ("1_000", "1_000"),  # not 1000
        ("1.10", 1.1),
        ("2e-5", 2e-5),  # a number (YAML 1.1 wanted a dot: 2.0e-5)
        ("0o17", 15),
        ("0x1F", 31),
        ("-3", -3),
        ("[.inf, -.Inf]", [float("inf"), float("-inf")]),
        ("[true, False, TRUE]", [True, False, True]),
        ("2024-01-01", "2024-01-01"),  # not a date
        ("[~, null, Null]", [None, None, None]),
        ("a:\nb: ''", {"a": None, "b": ""}),
    ],
)
def test_plain_scalars_are_read_by_yaml_1_2s_core_schema(text: str, value: object) -> None:
    """Configs are read by YAML 1.2's core schema, which PyYAML (YAML 1.1) lacks: a language code `no` stays a
    string, a seed `010` is ten, `1:30` is no number and a date is text."""
    assert parse_yaml(text, "x") == value


def test_nan_is_read_as_a_number() -> None:
    assert math.isnan(parse_yaml(".nan", "x"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("limit: !!int abc", "f.yaml:1: not valid YAML (!!int 'abc' is no integer)"),
        ("limit: !!int ''", "f.yaml:1: not valid YAML (!!int '' is no integer)"),
        ("rate: !!float abc", "f.yaml:1: not valid YAML (!!float 'abc' is no number)"),
        ("allow_overlap: !!bool yes", "f.yaml:1: not valid YAML (!!bool 'yes' is no boolean (true or false))"),
        ("when: !!timestamp x", "f.yaml: not valid YAML ("),
    ],
)
def test_an_explicit_tag_on_a_value_it_does_not_fit_is_one_line(text: str, message: str) -> None:
    """`!!int abc` ended in a ValueError traceback; `!!bool yes` was read as false (a permission the user believed
    given, refused with advice to give it)."""
    with pytest.raises(UserError) as caught:
        parse_yaml(text, "f.yaml")
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert parse_yaml("a: !!bool TRUE\nb: !!int 0x1f\nc: !!float 2e-5", "f.yaml") == {"a": True, "b": 31, "c": 2e-5}
