"""How far one setting travels: the package's functions and modules that receive `training.learning_rate` (or an
object that holds it within two attribute hops: the experiment, a cell's job or plan, the training settings)
between `mbert-eval run` and the training loop, traced on a real run of a tiny grid (one task, two methods,
two seeds: four cells; the trip ends where the first cell enters the training loop).

A function is counted once however often it is called; "returns" counts the times the path comes back into a
module it had left. The path is also given in two stages, split where the run takes the store's lock
(`store.locks.held_lock`): checking and resolving the grid (what `mbert-eval validate` does too), then running it. The same figures are given for every package function called on the way (comprehensions and
lambdas aside), whether or not it receives the setting. Also counted, over the same stretch: the calls that build a
task object, parse a data spec or reseed the random state (`--all` lists every package function that ran). Last,
the way the value itself flows: the package's functions on the call stack wherever the setting is read (an
attribute read of `learning_rate` that gives the traced value, on any class of the package that declares one),
and those on the stack where the loop is entered. Nothing is timed; the figures are a property of the code, not
of the machine.

    python benchmarks/trace_setting.py [--all] [--reads]
    (--all lists every function that ran, not only the setting's path; --reads lists the way the value flows)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import yaml

LEARNING_RATE = 0.0123  # an unusual value, so that the objects carrying it are found by value
ROOT = Path(__file__).resolve().parents[1] / "mbert_eval"


def carries(value: object, depth: int = 2) -> bool:
    """Whether `value` holds the learning rate itself or within `depth` attribute hops."""
    if getattr(value, "learning_rate", None) == LEARNING_RATE:
        return True
    if depth == 0 or isinstance(value, (str, bytes, int, float, Path, type)):
        return False
    attributes = getattr(value, "__dict__", None)
    if attributes is None and hasattr(type(value), "__dataclass_fields__"):
        attributes = {name: getattr(value, name) for name in type(value).__dataclass_fields__}
    return any(carries(item, depth - 1) for item in (attributes or {}).values())


def holders() -> list[type]:
    """The package's classes that declare a `learning_rate` (the training settings; before issue 21 also their
    copy for the loop), imported from every module of the package."""
    import dataclasses
    import importlib
    import pkgutil

    import mbert_eval

    found = []
    for module in pkgutil.walk_packages(mbert_eval.__path__, "mbert_eval."):
        if module.name.endswith("__main__"):  # runs the command line when imported
            continue
        try:
            loaded = importlib.import_module(module.name)
        except Exception:  # noqa: BLE001 - a module that needs an extra (ray) holds no training settings
            continue
        for value in vars(loaded).values():
            if (
                isinstance(value, type)
                and value.__module__ == module.name
                and dataclasses.is_dataclass(value)
                and "learning_rate" in {field.name for field in dataclasses.fields(value)}
            ):
                found.append(value)
    return found


def watch(holder: type, read_by) -> None:
    """Call `read_by(frame)` with the reading frame whenever an instance of `holder` gives out the setting."""
    plain = holder.__getattribute__

    def __getattribute__(self, name):  # noqa: N807 - the hook Python calls
        value = plain(self, name)
        if name == "learning_rate" and value == LEARNING_RATE:
            read_by(sys._getframe(1))
        return value

    holder.__getattribute__ = __getattribute__


def summary(calls: list[tuple[str, str]]) -> str:
    """Distinct functions and modules among `calls` (module, function) in call order, and the times the
    sequence comes back into a module it had left."""
    functions = list(dict.fromkeys(calls))
    modules = {module for module, _ in calls}
    visits = [module for index, (module, _) in enumerate(calls) if index == 0 or calls[index - 1][0] != module]
    returns = len(visits) - len(set(visits))
    return f"{len(functions)} functions in {len(modules)} modules, {returns} returns into a module already left"


def main() -> None:
    import torch

    from mbert_eval.cli import main as cli
    from mbert_eval.pretraining.tokenizer import train_tokenizer
    from mbert_eval.synthetic.family import SynthConfig, generate_family

    torch.set_num_threads(1)
    folder = Path(tempfile.mkdtemp(prefix="trace-setting-"))
    family = generate_family(
        folder / "family",
        SynthConfig(n_languages=2, seed=0, n_monolingual=100, n_train=16, n_dev=8, n_test=8, n_parallel=10),
    )
    from transformers import BertConfig, BertForMaskedLM

    tokenizer = train_tokenizer(
        [family.mono(language.code) for language in family.languages], "wordpiece", 300, folder / "model"
    )
    BertForMaskedLM(
        BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=64,
        )
    ).save_pretrained(folder / "model")
    codes = [language.code for language in family.languages]
    pos = {key: f"{family.root}/pos/{{lang}}-{key}.conllu" for key in ("train", "dev", "test")}
    config = {
        "name": "trace",
        "models": [str(folder / "model")],
        "sources": codes[:1],
        "targets": codes[1:],
        "output": str(folder / "out"),
        "training": {"learning_rate": LEARNING_RATE, "epochs": 1, "max_length": 32},
        "tasks": {"pos": pos},
    }
    (folder / "trace.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")

    path: list[tuple[str, str]] = []
    running: list[int] = []  # where on the path the run took the store's lock: the running stage starts
    ran: dict[tuple[str, str], int] = {}
    trip: list[tuple[str, str]] = []  # every package function called on the way, in order
    stack: list[tuple[str, str]] = []  # the package's functions on the stack when the loop is entered

    def profile(frame, event, arg):
        if event != "call" or not frame.f_code.co_filename.startswith(str(ROOT)):
            return
        code = frame.f_code
        module = str(Path(code.co_filename).relative_to(ROOT.parent))
        if code.co_name == "held_lock" and not running:
            running.append(len(path))
        if code.co_name != "<module>":  # a module imported on the way (lazily) is no step of the trip
            ran[module, code.co_qualname] = ran.get((module, code.co_qualname), 0) + 1
            if not code.co_name.startswith("<"):  # comprehensions and lambdas are no step of their own
                trip.append((module, code.co_qualname))
        arguments = [frame.f_locals.get(name) for name in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]]
        if any(carries(value) for value in arguments):
            path.append((module, code.co_qualname))
        if code.co_name == "fine_tune" and module == "mbert_eval/training/loop.py":
            caller = frame
            while caller is not None:  # the package's functions on the stack, the loop's first
                where = caller.f_code.co_filename
                if where.startswith(str(ROOT)) and not caller.f_code.co_name.startswith("<"):
                    stack.append((str(Path(where).relative_to(ROOT.parent)), caller.f_code.co_qualname))
                caller = caller.f_back
            raise SystemExit  # the training loop is reached: the trip is over

    reads: list[list[tuple[str, str]]] = []  # at each read of the setting: the package's functions on the stack

    def read_by(frame) -> None:
        """Note the package's functions on the stack of a read of the setting, outermost first."""
        found = []
        while frame is not None:
            where = frame.f_code.co_filename
            if where == __file__ and frame.f_code.co_name == "carries":  # the trace's own look at an argument
                return
            if where.startswith(str(ROOT)) and not frame.f_code.co_name.startswith("<"):
                found.append((str(Path(where).relative_to(ROOT.parent)), frame.f_code.co_qualname))
            frame = frame.f_back
        if found:
            reads.append(found[::-1])

    for holder in holders():
        watch(holder, read_by)

    # a first, untraced run into another folder imports whatever the run imports (some modules only when used),
    # so that the traced run counts the trip and not module loading
    warm = {**config, "output": str(folder / "warm")}
    (folder / "warm.yaml").write_text(yaml.safe_dump(warm), encoding="utf-8")
    cli(["run", str(folder / "warm.yaml"), "--no-report"], standalone_mode=False)
    reads.clear()
    sys.setprofile(profile)
    try:
        cli(["run", str(folder / "trace.yaml"), "--no-report"], standalone_mode=False)
    except SystemExit:
        pass
    finally:
        sys.setprofile(None)
    for module, name in sorted(ran) if "--all" in sys.argv else dict.fromkeys(path):
        print(f"  {module}: {name}")
    print(f"the setting's path: {summary(path)}")
    start = running[0] if running else len(path)
    print(
        f"  before the store's lock (the checks `validate` runs too; resolution, where done up front): {summary(path[:start])}"
    )
    print(f"  from the store's lock to the loop (the run): {summary(path[start:])}")
    print(f"every function called on the way: {summary(trip)}")
    chain = stack[::-1]
    print(f"the calls from the command to the loop: {summary(chain)}")
    print("  " + " -> ".join(name for _, name in chain))
    on_stacks = {function for stack_at_read in [*reads, chain] for function in stack_at_read}
    print(
        "the functions on the stack where the setting is read, or the loop entered (the way its value flows): "
        + summary([function for function in trip if function in on_stacks])
    )
    if "--reads" in sys.argv:
        for function in dict.fromkeys(function for function in trip if function in on_stacks):
            print(f"  {function[0]}: {function[1]}")
    counted = {
        "build a task": ("build_task",),
        "parse a data spec": ("DataSpec.parse",),
        "reseed": ("seed_everything",),
    }
    for what, names in counted.items():
        print(f"calls that {what}: {sum(n for (_, name), n in ran.items() if name in names)}")


if __name__ == "__main__":
    main()
