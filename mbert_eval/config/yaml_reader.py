"""YAML as configs, jobs files and `--set` values are read: safe tags only, no duplicate key (a second
`training:` would silently replace the first), at most `MAX_VALUES` values once aliases are expanded (an alias
bomb) and at most `MAX_DEPTH` levels of nesting; every refusal is a UserError of one line naming where."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from mbert_eval.data.files import read_text
from mbert_eval.errors import UserError, cut, shown

MAX_VALUES = 100_000  # values a document may expand to (a grid of 1,000 seeds is 1,000 values)
MAX_DEPTH = 100  # levels of nesting (a config nests 4)


class _Refused(yaml.MarkedYAMLError):
    """A document that is valid YAML but no config: a duplicate key, too many values, too deep."""


# YAML 1.2's core schema for plain scalars (yaml.org/spec/1.2.2, 10.3.2), where PyYAML resolves YAML 1.1's: there,
# `no`/`on`/`y` are booleans (Norwegian's code `no` read as false), `010` is octal 8, `1:30` is 90 (base 60), `1_000`
# is 1000 and `2024-01-01` a date, while `2e-5` is a string
_CORE = {
    "tag:yaml.org,2002:bool": (re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")),
    "tag:yaml.org,2002:int": (re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")),
    "tag:yaml.org,2002:float": (
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+.0123456789"),
    ),
    "tag:yaml.org,2002:null": (re.compile(r"^(?:~|null|Null|NULL|)$"), [*"~nN", ""]),  # "": an empty value
}


def _not_a(node: yaml.ScalarNode, kind: str, text: str) -> yaml.YAMLError:
    """The error of a scalar whose explicit tag (`!!int`, `!!float`, `!!bool`) names a kind it is not."""
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    return yaml.constructor.ConstructorError(None, None, f"{tag} {cut(text, 40)!r} is no {kind}", node.start_mark)


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads plain scalars by YAML 1.2's core schema (`_CORE`) and refuses a mapping key given
    twice, naming both lines."""

    yaml_implicit_resolvers: dict = {}  # filled below: the core schema's, and SafeLoader's other tags (merge, value)

    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        text = self.construct_scalar(node)
        if text.lower() not in ("true", "false"):  # `!!bool yes` read as false
            raise _not_a(node, "boolean (true or false)", text)
        return text.lower() == "true"

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        text = self.construct_scalar(node)
        base = {"0o": 8, "0x": 16}.get(text[:2], 10)
        try:
            return int(text[2:] if base != 10 else text, base)
        except ValueError:  # an explicit `!!int abc`
            raise _not_a(node, "integer", text) from None

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        text = self.construct_scalar(node)
        try:
            return float(text.lower().replace(".inf", "inf").replace(".nan", "nan"))
        except ValueError:  # an explicit `!!float abc`
            raise _not_a(node, "number", text) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults` may be overridden by the keys after it
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                line = first.get(key)
            except TypeError:  # an unhashable key: SafeConstructor says so
                continue
            if line is not None:
                problem = f"duplicate key {shown(key)} (first at line {line})"
                raise _Refused(problem=problem, problem_mark=key_node.start_mark)
            first[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


def _read_by_the_core_schema(loader: type[yaml.SafeLoader]) -> None:
    """Give `loader` the core schema's resolvers and constructors in place of YAML 1.1's (timestamps dropped; the
    merge key and the other tags kept)."""
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items():
        kept = [(tag, pattern) for tag, pattern in resolvers if tag not in _CORE and not tag.endswith(":timestamp")]
        if kept:
            loader.yaml_implicit_resolvers[first] = kept
    for tag, (pattern, firsts) in _CORE.items():
        loader.add_implicit_resolver(tag, pattern, firsts)
        loader.add_constructor(tag, getattr(loader, f"construct_yaml_{tag.rsplit(':', 1)[1]}"))


_read_by_the_core_schema(_Loader)


def _check_size(root: yaml.Node) -> None:
    """Refuse a document of more than MAX_VALUES values or MAX_DEPTH levels (aliases expanded), or one holding
    itself (a recursive alias); the node graph is walked once, without recursion."""
    sizes: dict[int, tuple[int, int]] = {}  # node id -> (values, levels) it expands to
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else []
        if done:
            open_nodes.discard(id(node))
            below = [sizes[id(child)] for child in children]
            values, levels = 1 + sum(v for v, _ in below), 1 + max((d for _, d in below), default=0)
            sizes[id(node)] = values, levels
            if values > MAX_VALUES:
                problem = f"expands to more than {MAX_VALUES:,} values (aliases repeat what they name)"
                raise _Refused(problem=problem, problem_mark=node.start_mark)
            if levels > MAX_DEPTH:
                raise _Refused(problem=f"nested more than {MAX_DEPTH} levels deep", problem_mark=node.start_mark)
        elif id(node) in open_nodes:
            raise _Refused(problem="an alias inside the value it names (it never ends)", problem_mark=node.start_mark)
        elif id(node) not in sizes:
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)


def _load(text: str) -> Any:
    """The document in `text`, its size checked before it is built (raises yaml's errors and `_Refused`)."""
    loader = _Loader(text)  # reading the text may already fail (a NUL byte)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def parse_yaml(text: str, where: str, lines: bool = True) -> Any:
    """The YAML document in `text` (None when empty); a problem is a UserError `WHERE:LINE: problem` (`where`
    names the file or the override; without `lines`, `WHERE: problem`)."""
    try:
        return _load(text)
    except _Refused as err:
        raise UserError(f"{_at(where, err.problem_mark.line + 1, lines)}: {err.problem}") from None
    except RecursionError:
        raise UserError(f"{where}: nested too deeply to read (at most {MAX_DEPTH} levels)") from None
    except (ValueError, TypeError, AttributeError) as err:  # a tag's own constructor failing (`!!timestamp x`)
        raise UserError(f"{where}: not valid YAML ({cut(' '.join(str(err).split()), 120)})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        if mark is not None:
            line = mark.line + 1
        else:  # a reader error (a NUL byte, a control character) knows only its position
            line = text.count("\n", 0, getattr(err, "position", 0)) + 1
        problem = getattr(err, "problem", None) or getattr(err, "reason", None) or err
        character = getattr(err, "character", None)
        if isinstance(character, int):
            problem = f"{problem}: U+{character:04X}"
        raise UserError(
            f"{_at(where, line, lines)}: not valid YAML ({cut(' '.join(str(problem).split()), 120)})"
        ) from None


def _at(where: str, line: int, lines: bool) -> str:
    return f"{where}:{line}" if lines else where


def read_yaml(file: Path) -> Any:
    """The YAML document in `file` (None when empty), read as `parse_yaml` reads it; a path that is no regular
    UTF-8 file is a UserError saying what it is (`data.files.read_text`)."""
    return parse_yaml(read_text(file), str(file))
