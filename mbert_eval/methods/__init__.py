"""Transfer methods: a chain of steps that each derive an encoder checkpoint, then fine-tuning options.

A method (`config.MethodConfig`) is a chain of checkpoint steps, such as translation LM (`tlm`,
Conneau & Lample 2019), alignment-aware fine-tuning (`align`, Cao et al. 2020) or a random-init
control (`scratch`), followed by fine-tuning options (freezing, Wu & Dredze 2019; layer mixing).
`baseline` has no steps. Each derived checkpoint is cached under a hash of its base checkpoint's content
(`models.fingerprint`: a folder retrained in place is a new base), its settings, its data checksums and the
seed, so grids that share one build it once.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Mapping

import mbert_eval.methods.steps  # noqa: F401  (registers the built-in steps in STEPS)
from mbert_eval.config.experiment import MethodConfig, stable_hash
from mbert_eval.data.spec import DataSpec
from mbert_eval.errors import UserError, shown
from mbert_eval.methods.base import STEPS, MethodContext, StepSettings
from mbert_eval.methods.parallel_data import parallel_specs
from mbert_eval.models.fingerprint import model_fingerprint
from mbert_eval.training.options import describe_options, name_examples, option_problems


def check_method(method: MethodConfig, depths: Mapping[str, int | None] | None = None) -> list[str]:
    """Problems with a method: unknown steps, then each fine-tuning option's (`training.options`; `depths`: the
    grid's models and their layer counts, where known)."""
    problems = []
    examples = name_examples()
    for step in method.chain:
        if step not in STEPS:
            close = difflib.get_close_matches(step, [*STEPS, "baseline", *examples.values()], n=1)
            hint = f"; did you mean: {', '.join(close)}?" if close else ""
            problems.append(
                f"unknown method step {shown(step)}{hint} (steps: {', '.join(STEPS.names())}; "
                f"options: {', '.join(examples)})"
            )
    return problems + _name_problems(method) + option_problems(method, depths)


def _name_problems(method: MethodConfig) -> list[str]:
    """A method whose name reads as another method than the one it runs: an option its name sets twice
    (`freeze1+freeze2`), or a mapping whose `name` spells a method (its steps and options all known) other than
    the one the mapping sets (`{name: freeze2}` ran the baseline under freeze2's name)."""
    parts = method.name.split("+")
    options = [item.name for item in dataclasses.fields(MethodConfig) if "name_part" in item.metadata]
    for option in options:
        pattern = MethodConfig.__dataclass_fields__[option].metadata["name_part"]
        named = [part for part in parts if re.fullmatch(pattern, part)]
        if len(named) > 1:
            return [f"method name '{method.name}' sets {option} twice ({', '.join(named)})"]
    spelled = MethodConfig.from_name(method.name)
    spelling = ["chain", *options]  # what a name can say (cache_frozen, say, is set by its key alone)
    if all(step in STEPS for step in spelled.chain) and any(
        getattr(spelled, name) != getattr(method, name) for name in spelling
    ):
        return [
            f"method '{method.name}': its name spells another method than the one it sets "
            f"({_settings(spelled, spelling)} against {_settings(method, spelling)}); name it after what it runs"
        ]
    return []


def _settings(method: MethodConfig, names: list[str]) -> str:
    """A method's steps and the options its name can spell, as a message shows them."""
    return ", ".join(f"{name}={getattr(method, name)!r}" for name in names)


def needs_parallel(method: MethodConfig) -> bool:
    """Whether any step of the method reads parallel text."""
    return any(STEPS.get(step).needs_parallel for step in method.chain if step in STEPS)


def reads_alignments(method: MethodConfig) -> bool:
    """Whether any step of the method reads the word alignments given beside the parallel text."""
    return any(STEPS.get(step).reads_alignments for step in method.chain if step in STEPS)


def parallel_files(method: MethodConfig, settings: StepSettings, source: str) -> list[DataSpec]:
    """The parallel text (both sides; the alignments where a step reads them) a cell's method reads from
    `source`: what its derived checkpoints, and so its scores, depend on beside the base model, and what its rows
    record (none where no step of it reads any)."""
    return parallel_specs(settings, source, reads_alignments(method)) if needs_parallel(method) else []


def unread_parallel_files(method: MethodConfig, settings: StepSettings, source: str) -> list[DataSpec]:
    """The alignment files the config names that the method's steps do not read (TLM's): rows stored before TLM
    stopped reading them recorded them, and are not judged on them (`grid.freshness`)."""
    if not needs_parallel(method) or reads_alignments(method):
        return []
    read = set(parallel_specs(settings, source, alignments=False))
    return [spec for spec in parallel_specs(settings, source) if spec not in read]


def step_versions(method: MethodConfig) -> dict[str, int]:
    """The version of each checkpoint step the method runs (`Step.version`): what its rows record beside their
    scores (`extra["step_versions"]`; none for a method without steps)."""
    return {step: STEPS.get(step).version for step in method.chain if step in STEPS}


def derived_checkpoint(step_name: str, base: str, context: MethodContext) -> str:
    """The step's output for `base`, built once and then reused from the cache (the device is not part of the
    key: it changes how fast a checkpoint is built, not which one; the step's version is, from version 2 on).
    Cells that share it (one per task, or per fine-tuning option) may run at once (Ray): the first builds it
    under a lock of its own, the others wait for it and reuse it. A cached folder that no longer is a model
    (its weights deleted or cut short: `models.specs.model_facts`) is built again, said on stderr."""
    import shutil
    import sys

    from filelock import FileLock

    from mbert_eval.models.specs import model_facts

    step = STEPS.get(step_name)
    version = {"version": step.version} if step.version > 1 else {}  # version 1's checkpoints keep their keys
    key = stable_hash(
        {
            "step": step_name,
            "base": model_fingerprint(base),
            "seed": context.seed,
            "inputs": step.fingerprint(context),
            **version,
        }
    )
    out = context.cache_dir / f"{step_name}-{key}"
    if (out / "config.json").is_file() and model_facts(str(out)).problem is None:
        return str(out)
    context.cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(context.cache_dir / f"{out.name}.lock"):
        damaged = model_facts(str(out)).problem if (out / "config.json").is_file() else None
        if damaged:  # the cache's own folder: what was built there is built again
            print(f"{step_name}: the cached checkpoint is damaged ({damaged}); building it again", file=sys.stderr)
            shutil.rmtree(out)
        if not (out / "config.json").is_file():  # not built while this cell waited
            step.build(base, out, context)
            (out / "derived_from.json").write_text(json.dumps({"step": step_name, "base": base, "key": key}, indent=1))
    return str(out)


def prepare_encoder(model: str, method: MethodConfig, context: MethodContext) -> str:
    """Run the method's chain of steps on `model`; returns the encoder to fine-tune."""
    problems = check_method(method)
    if problems:
        raise UserError(f"method '{method.name}': {problems[0]}")
    spec = model
    for step in method.chain:
        spec = derived_checkpoint(step, spec, context)
    return spec


def describe_methods() -> list[tuple[str, str]]:
    """(name, summary) of `baseline`, the fine-tuning options and the steps, for `mbert-eval ls methods`."""
    rows = [("baseline", "the base encoder, fine-tuned as it is")]
    rows += describe_options()
    return rows + [(name, STEPS.summary(name)) for name in STEPS.names()]
