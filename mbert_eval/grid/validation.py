"""Checks an experiment without running it: every problem, each with its key path (tasks, executors and
method steps checked against their registries)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mbert_eval.aligner.settings import WordAlignerConfig
from mbert_eval.config.experiment import (
    BATCHINGS,
    LR_SCHEDULES,
    MAX_SEED,
    WORD_EMBEDDINGS,
    Experiment,
    TrainingConfig,
)
from mbert_eval.data.files import NOT_FOUND, text_file_problem
from mbert_eval.data.hub import hub_dataset_problem, hub_spec_problem
from mbert_eval.errors import UserError, shown
from mbert_eval.grid.executors import EXECUTORS
from mbert_eval.grid.executors.ray_checks import ray_problems
from mbert_eval.grid.leakage import hub_default_problems, leakage_problems, parallel_leakage_problems
from mbert_eval.languages import Language, lookup
from mbert_eval.methods import check_method, needs_parallel, reads_alignments
from mbert_eval.models.specs import (  # torch-free: `validate` imports no torch (issue 21)
    check_device,
    device_name_problem,
    hub_model_problem,
    model_facts,
)
from mbert_eval.models.threads import MAX_THREADS
from mbert_eval.store.outputs import side_file_problem
from mbert_eval.store.results import ResultStore
from mbert_eval.store.unsaved import unsaved_cells
from mbert_eval.tasks.base import Task, hub_refused, pick_layer

MAX_NAME_BYTES = 200  # a file name may hold 255 bytes: room for a suffix (a report named after it)


def _languages(codes: list[str], key: str, problems: list[str]) -> list[Language]:
    found = []
    for index, code in enumerate(codes):
        try:
            found.append(lookup(code))
        except UserError as err:
            problems.append(f"{key}[{index}]: {err}")
    return found


def check_experiment(
    experiment: Experiment, tasks: dict[str, Task | UserError], problems: list[str], check_files: bool = True
) -> set[str]:
    """Add every problem of the experiment to `problems`; `tasks` are its tasks as built once (or the error
    building one raised). Returns the tasks whose test data was checked against their training data here."""
    checked: set[str] = set()
    nul = _nul_bytes({key: value for key, value in experiment.to_dict().items() if key != "model_names"}, "")
    if nul:  # no file name holds one: checking the paths further would only fail on it
        problems.extend(nul)
        return checked
    lengths = _lengths(experiment)
    _check_windows(lengths, problems)
    if not experiment.models and not any(problem.startswith("models") for problem in problems):
        problems.append("models: no model given")
    facts = {model: model_facts(model) for model in experiment.models}  # each model's folder read once
    depths = {model: found.depth for model, found in facts.items()}
    for index, model in enumerate(experiment.models):
        problem = facts[model].problem or (hub_model_problem(model) if check_files else None)
        if problem:
            problems.append(f"models[{index}]: {problem}")
        _check_lengths(model, facts[model].max_length, lengths, problems)
    if not experiment.tasks:
        problems.append("tasks: no task given")
    if not experiment.sources:
        problems.append("sources: no source language given (a grid trains each cell on one)")
    if not experiment.targets and not all(task.targets for task in experiment.tasks.values()):
        problems.append("targets: no target language given")
    sources = _languages(experiment.sources, "sources", problems)
    targets = _languages(experiment.targets, "targets", problems)
    problems.extend(_listed_twice("models", experiment.models))
    problems.extend(_listed_twice("sources", experiment.sources, _language_code))
    _check_methods(experiment, depths, problems)
    _check_steps(experiment, depths, problems)
    if experiment.executor not in EXECUTORS:
        problems.append(f"executor: {EXECUTORS.unknown(experiment.executor)}")
    if experiment.executor == "ray":  # what `RayExecutor.connect` would refuse when the run starts
        problems.extend(ray_problems(experiment.ray, check_network=check_files))
    ray = experiment.ray
    if ray.num_gpus < 0 or ray.num_cpus <= 0 or ray.max_retries < 0:
        problems.append("ray: num_gpus must be >= 0, num_cpus > 0 and max_retries >= 0")
    if ray.num_gpus > 1 and not float(ray.num_gpus).is_integer():
        problems.append(f"ray.num_gpus: more than one GPU per cell must be a whole number, got {ray.num_gpus}")
    problems.extend(_not_finite(experiment.to_dict(), ""))
    _check_training(experiment.training, problems)
    _check_run(experiment, problems)
    for name, task in tasks.items():
        if isinstance(task, UserError):
            problems.append(f"tasks.{name}: {task}")
            continue
        _check_layer(name, task, depths, problems)
        for model, found in facts.items():  # the models whose position tables are read (local folders)
            problem = found.max_length and task.positions_problem(found.max_length)
            if problem:
                problems.append(f"tasks.{name}: {problem} ({model})")
        if experiment.limit is not None and not task.limitable:
            problems.append(f"tasks.{name}: it scores whole test sets; run it without `limit:` (--limit)")
        own = experiment.tasks[name].targets
        task_targets = _languages(own, f"tasks.{name}.targets", problems) if own else targets
        scored = ([("sources", s) for s in sources] if task.needs_training else []) + [
            ("targets", t) for t in task_targets
        ]
        for where, language in dict.fromkeys(scored):
            problem = task.language_problem(language)
            if problem:
                problems.append(f"tasks.{name}: {where}: {problem}")
        problem = task.languages_problem(sources, task_targets)
        if problem:
            problems.append(f"tasks.{name}: {problem}")
        problems.extend(hub_default_problems(name, task))  # what the leakage check cannot compare: no file read
        if check_files:
            before = len(problems)
            _check_task_files(name, task, sources, task_targets, problems)
            if len(problems) == before:
                if _check_examples(name, task, sources, task_targets, problems):
                    checked.add(name)
                _check_leakage(name, task, sources, task_targets, problems)
                _check_parallel_leakage(name, task, experiment, task_targets, problems)
    return checked


def _check_layer(name: str, task: Task, depths: dict[str, int | None], problems: list[str]) -> None:
    """A task's `layer` option must be a layer of every model whose depth is known (as the run picks it)."""
    if task.options().get("layer") is None:
        return
    for model, depth in depths.items():
        if isinstance(depth, int):
            try:
                pick_layer(task.options()["layer"], depth, name)
            except UserError as err:
                problems.append(f"tasks.{name}.layer: {err} ({model})")


def _check_examples(
    name: str, task: Task, sources: list[Language], targets: list[Language], problems: list[str]
) -> bool:
    """Every local file a cell reads is read, as the run reads it (a file the reader refuses is refused here),
    and the task's own checks of test data against training data (`Task.examples_problem`; tasks without
    training check their test data alone) and of its data as a whole (`Task.data_problem`) are made, before any
    cell runs. Hub data is not fetched here: False says the check was left to the worker (`grid.job.run_cell`),
    which reads the data anyway."""
    try:
        trained = sources if task.needs_training else []
        specs = [task.spec("train", s) for s in trained] + [task.spec("test", t) for t in targets]
        if any(spec.is_hub for spec in specs):
            return False
        for train in [task.source_examples(s)[0] for s in trained] if task.needs_training else [[]]:
            for target in targets:
                problem = task.examples_problem(train, task.target_examples(target))
                if problem:
                    problems.append(f"tasks.{name}: {problem}")
        problem = task.data_problem()
        if problem:
            problems.append(f"tasks.{name}: {problem}")
    except UserError as err:
        problems.append(f"tasks.{name}: {err}")
    return True


def _check_leakage(
    name: str, task: Task, sources: list[Language], targets: list[Language], problems: list[str]
) -> None:
    """Dev or test rows that are training rows or their translations (grid/leakage.py)."""
    try:
        problems.extend(leakage_problems(name, task, sources, targets))
    except UserError as err:
        problems.append(f"tasks.{name}: {err}")


def _check_parallel_leakage(
    name: str, task: Task, experiment: Experiment, targets: list[Language], problems: list[str]
) -> None:
    """Dev or test rows of the task that the grid's checkpoint steps train on as parallel text, or translations of
    them (`grid.leakage.parallel_leakage_problems`); nothing where no method of the grid reads parallel text."""
    if not any(needs_parallel(m) for m in experiment.methods):
        return
    from mbert_eval.methods.base import StepSettings
    from mbert_eval.methods.parallel_data import parallel_sides

    settings = StepSettings.of(experiment)
    try:  # the sides themselves (languages, slices, patterns) are refused here as in the run, with their key
        sides = {
            (spec, lookup(code))
            for source in experiment.sources
            for spec, code in parallel_sides(settings, lookup(source).code)
        }
        problems.extend(parallel_leakage_problems(name, task, sorted(sides, key=str), targets))
    except UserError as err:
        problems.append(f"parallel: {err}")


def _language_code(code: str) -> str:
    """A language as the grid's cells name it (`en` for `eng`), or the code itself where none is known."""
    try:
        return lookup(code).code
    except UserError:
        return code


def _listed_twice(key: str, values: list[Any], same: Callable[[Any], Any] = lambda value: value) -> list[str]:
    """A problem for each value of a grid axis (`key`) that an earlier one already lists (`same` says which are
    the same: a language by its code): each of its cells would be computed twice."""
    seen: dict[Any, Any] = {}
    problems = []
    for value in values:
        key_of_value = same(value)
        if key_of_value not in seen:
            seen[key_of_value] = value
            continue
        first = seen[key_of_value]
        again = "" if first == value else f" (as {shown(first)})"
        problems.append(f"{key}: {shown(value)} is listed twice{again}; each of its cells would run twice")
    return problems


def _check_methods(experiment: Experiment, depths: dict[str, int | None], problems: list[str]) -> None:
    names = [method.name for method in experiment.methods]
    if not names:
        problems.append("methods: no method given")
    if names and experiment.baseline is not None and experiment.baseline not in names:
        problems.append(f"baseline: unknown method {shown(experiment.baseline)} (methods: {', '.join(names)})")
    spelt: dict[str, str] = {}  # each method's settings, by the name that first ran them
    for index, method in enumerate(experiment.methods):
        key = f"methods[{index}]"
        if names.count(method.name) > 1:
            problems.append(f"{key}: method name '{method.name}' is used twice")
        problems.extend(f"{key}: {problem}" for problem in check_method(method, depths))
        settings = repr(dataclasses.replace(method, name=""))  # what it runs, whatever its name
        if spelt.setdefault(settings, method.name) != method.name:
            problems.append(
                f"{key}: '{method.name}' runs what '{spelt[settings]}' runs (the same settings): each of its cells "
                "would be computed twice under two names"
            )
        if needs_parallel(method) and not (experiment.parallel.source and experiment.parallel.target):
            problems.append(  # unset or empty ([], {}, ""): the run would refuse it after starting
                f"{key}: method '{method.name}' needs parallel text: set parallel.source and parallel.target"
            )
    if any("align" in m.chain for m in experiment.methods):
        try:  # the aligner's own check of its settings, before any cell runs
            WordAlignerConfig(model="", methods=(experiment.align.aligner_method,))
        except UserError as err:
            problems.append(f"align.aligner_method: {err}")
    if any(needs_parallel(m) for m in experiment.methods) and experiment.parallel.source and experiment.parallel.target:
        from mbert_eval.methods.base import StepSettings
        from mbert_eval.methods.parallel_data import load_parallel

        alignments = any(reads_alignments(m) for m in experiment.methods)  # TLM reads no alignment file
        for source in experiment.sources:
            try:
                load_parallel(StepSettings.of(experiment), lookup(source).code, alignments)
            except UserError as err:
                problems.append(f"parallel: {err}")


def _check_steps(experiment: Experiment, depths: dict[str, int | None], problems: list[str]) -> None:
    """The settings of the checkpoint steps the grid's methods run (`tlm`, `align`: unused settings are not
    checked), as the steps themselves refuse them at run time (`pretraining.loop.PretrainConfig`,
    `methods.alignment`), but with their keys and before any cell runs; `align.layer` against each model whose
    depth is known."""
    steps = {step for method in experiment.methods for step in method.chain}
    for key in ("tlm", "align"):
        settings = getattr(experiment, key)
        if key in steps and settings.learning_rate <= 0:
            problems.append(f"{key}.learning_rate: must be positive, got {settings.learning_rate}")
        if key in steps and settings.batch_size < 1:
            problems.append(f"{key}.batch_size: must be at least 1, got {settings.batch_size}")
    tlm = experiment.tlm
    if "tlm" in steps and tlm.steps == 1:  # below 1 is refused with the other numbers
        problems.append("tlm.steps: at least 2: the warm-up's first step runs at learning rate 0, so 1 trains nothing")
    if "tlm" in steps and tlm.head_steps < 0:
        problems.append(f"tlm.head_steps: must be at least 0 (0: no head warm-up), got {tlm.head_steps}")
    if "tlm" in steps and tlm.head_learning_rate <= 0:
        problems.append(f"tlm.head_learning_rate: must be positive, got {tlm.head_learning_rate}")
    if "align" not in steps:
        return
    align = experiment.align
    if align.regularization < 0:
        problems.append(f"align.regularization: must not be negative, got {align.regularization}")
    if not 0 <= align.warmup_ratio < 1:
        problems.append(f"align.warmup_ratio: must be in [0, 1), got {align.warmup_ratio}")
    if align.aligner_layer < 0:  # the aligner's (`WordAlignerConfig`); above the model's depth it takes the last
        problems.append(f"align.aligner_layer: a layer from 0 (the embeddings) up, got {align.aligner_layer}")
    for model, depth in depths.items():
        if isinstance(depth, int) and not -(depth + 1) <= align.layer <= depth:
            problems.append(
                f"align.layer: layer {align.layer} does not exist: {model} has hidden states 0..{depth} (-1 = last)"
            )


def _lengths(experiment: Experiment) -> dict[str, int]:
    """Each token window a run uses, by its key: fine-tuning's (training and evaluation), and TLM's and
    alignment's where a method has those steps."""
    steps = {step for method in experiment.methods for step in method.chain}
    lengths = {
        f"{key}.max_length": getattr(experiment, key).max_length
        for key in ("training", "tlm", "align")
        if key == "training" or key in steps
    }
    if experiment.training.eval_max_length is not None:
        lengths["training.eval_max_length"] = experiment.training.eval_max_length
    return lengths


MIN_WINDOW = 3  # [CLS], one word piece, [SEP]
MIN_PAIR_WINDOW = 5  # TLM's [CLS] a [SEP] b [SEP] (`pretraining.loop.PretrainConfig` refuses less too)


def _check_windows(lengths: dict[str, int], problems: list[str]) -> None:
    """Each window a run uses (`_lengths`) must hold the special tokens and one word piece: the tokenizer does not
    cut an input to a shorter one at all (while the rows would record that window)."""
    for key, length in lengths.items():
        if key == "tlm.max_length" and length < MIN_PAIR_WINDOW:  # a sentence pair: one piece of each side
            problems.append(
                f"{key}: at least {MIN_PAIR_WINDOW} tokens: [CLS], a piece of each side, two [SEP]; got {length}"
            )
        elif length < MIN_WINDOW:
            problems.append(f"{key}: at least {MIN_WINDOW} tokens: [CLS], one word piece, [SEP]; got {length}")


def _check_lengths(model: str, limit: int | None, lengths: dict[str, int], problems: list[str]) -> None:
    """Each window a run uses (`_lengths`) must fit the model's position table (`limit` tokens, None: unknown): a
    longer input would overrun it."""
    for key, length in lengths.items():
        if limit is not None and length > limit:
            problems.append(
                f"{key}: {length} tokens is beyond the position table of {model} ({limit} tokens); use at most {limit}"
            )


def _not_finite(value: Any, path: str) -> list[str]:
    """The key paths of NaN or infinite numbers anywhere in a config value (YAML reads `.nan` and `.inf`)."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [f"{path}: must be a finite number, got {value}"]
    if dataclasses.is_dataclass(value):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _not_finite(item, f"{path}.{key}" if path else str(key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _not_finite(item, f"{path}[{index}]")]
    return []


def _nul_bytes(value: Any, path: str) -> list[str]:
    """The key paths of strings anywhere in a config value that hold a NUL byte (YAML reads `"a\\0b"`): no file
    name, model or language holds one."""
    if isinstance(value, str):
        return [f"{path}: holds a NUL byte, which no name or path can: {shown(value)}"] if "\0" in value else []
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _nul_bytes(item, f"{path}.{key}" if path else str(key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _nul_bytes(item, f"{path}[{index}]")]
    return []


def _check_run(experiment: Experiment, problems: list[str]) -> None:
    """What a run needs beyond the grid: seeds, each once, a device this machine has (Ray workers may have other
    GPUs, but no other device names), from 1 to MAX_THREADS CPU threads, an output folder and a store where they
    can be made (`_check_places`) and file names that can be written."""
    if not experiment.seeds:
        problems.append("seeds: no seed given (a grid runs every method once per seed)")
    problems.extend(_listed_twice("seeds", experiment.seeds))
    for index, seed in enumerate(experiment.seeds):
        if not 0 <= seed <= MAX_SEED:
            problems.append(
                f"seeds[{index}]: a seed is a whole number from 0 to {MAX_SEED} (2**32 - 1), got {shown(seed)}"
            )
    try:
        if experiment.executor == "local":
            check_device(experiment.device)  # `auto` is resolved when the run starts
        elif problem := device_name_problem(experiment.device):  # Ray's workers may have other GPUs, not names
            raise UserError(problem)
    except UserError as err:
        problems.append(f"device: {err}")
    if experiment.limit is not None and experiment.limit < 1:
        problems.append(f"limit: at least 1 example per split (or null for all of them), got {experiment.limit}")
    if experiment.threads is not None and experiment.threads < 1:
        problems.append(f"threads: at least 1 CPU thread (or null for the default), got {experiment.threads}")
    if experiment.threads is not None and experiment.threads > MAX_THREADS:
        problems.append(
            f"threads: at most {MAX_THREADS} CPU threads (more than any machine's cores), got {shown(experiment.threads)}"
        )
    _check_places(experiment, problems)
    if len(experiment.name.encode()) > MAX_NAME_BYTES or "/" in experiment.name:
        problems.append(
            f"name: at most {MAX_NAME_BYTES} bytes and no '/' (it names the output folder, runs/NAME by "
            f"default), got {len(experiment.name.encode())} bytes"
        )
    counts = {  # training.epochs: `_check_training`
        "tlm.steps": experiment.tlm.steps,
        "align.epochs": experiment.align.epochs,
        **{f"tasks.{name}.epochs": task.epochs for name, task in experiment.tasks.items()},
    }
    for key, count in counts.items():
        if count is not None and count < 1:
            problems.append(f"{key}: must be at least 1, got {count} (an untrained head's scores are no result)")


def _check_places(experiment: Experiment, problems: list[str]) -> None:
    """The output folder (it holds the checkpoints and the report even where `store:` puts the store elsewhere)
    must be a folder or one that can be made, and the store a file or one that can be made, as the run makes
    them; the store a run would write to is then checked (`_check_store`)."""
    try:
        output = experiment.output_dir
    except UserError as err:
        problems.append(f"output: {err}")
        return
    store_key = "store" if experiment.store else "output"
    try:
        store = experiment.store_path
    except UserError as err:
        problems.append(f"{store_key}: {err}")
        return
    output_problem = place_problem(output, folder=True) or _in_a_model(output, experiment.models)
    store_problem = (
        None
        if output_problem
        else side_file_problem(store) or place_problem(store, folder=False) or _in_a_model(store, experiment.models)
    )
    if output_problem:
        problems.append(f"output: {output_problem}")
    elif store_problem:
        problems.append(f"{store_key}: {store_problem}")
    else:
        _check_store(store, store_key, problems)


def _in_a_model(place: Path, models: list[str]) -> str | None:
    """Why the output folder or the store cannot be where it is: in (or at) a local model folder the run reads,
    whose files a run's checkpoints, store and report would then join, changing the model's content fingerprint
    at every run (None: it is not)."""
    for model in models:
        folder = Path(model).expanduser()
        if folder.is_dir() and place.resolve().is_relative_to(folder.resolve()):
            return f"{place} lies in the model folder {model}, which the run reads; choose another place"
    return None


def place_problem(path: Path, folder: bool) -> str | None:
    """Why a run cannot make `path` a folder (`folder`) or a file: it is the other kind, a device or pipe rather
    than a file, it lies under a file, or nothing can be made where it would go (None: it can). Whether something
    can be made is tried: a temporary folder made and removed in the folder that would hold it (file permissions
    say nothing for root or for /proc)."""
    if path.exists():
        if folder and not path.is_dir():
            return f"{path} is a file, not a folder"
        if not folder and path.is_dir():
            return f"{path} is a folder; name the results store file (e.g. {path / 'results.sqlite'})"
        if not folder and not path.is_file():
            return f"{path} is not a regular file (a device or a pipe); name the results store file"
        return _cannot_make_in(path if folder else path.parent)
    parent = next((parent for parent in path.parents if parent.exists()), None)
    if parent is not None and not parent.is_dir():
        return f"{path}: {parent} is a file, not a folder"
    return None if parent is None else _cannot_make_in(parent)


def _cannot_make_in(folder: Path) -> str | None:
    """Why nothing can be made in `folder` (a read-only file system, no permission, /proc), or None: a temporary
    folder is made there and removed."""
    import tempfile

    try:
        with tempfile.TemporaryDirectory(dir=folder, prefix=".mbert-eval-check-"):
            return None
    except OSError as err:
        return f"nothing can be made in {folder} ({err.strerror or err})"


def _check_store(store: Path, key: str, problems: list[str]) -> None:
    """A results store the run would write to must be one, undamaged (`ResultStore`'s checks at open), and the
    cells an earlier run kept beside it (`store.unsaved`) must read back; a problem is said under `key`, the
    config's key that places the store (`store`, else `output`)."""
    try:
        if store.is_file():
            ResultStore(store, read_only=True)
        unsaved_cells(store)
    except UserError as err:
        problems.append(f"{key}: {err}")


def _check_training(training: TrainingConfig, problems: list[str]) -> None:
    """Fine-tuning's settings (its windows: `_check_windows`): a clipping norm of 0 would zero every gradient
    and a negative one turn it round, a negative weight decay would grow the weights."""
    for key in ("learning_rate", "batch_size", "eval_batch_size", "max_grad_norm"):
        if getattr(training, key) <= 0:
            problems.append(f"training.{key}: must be positive, got {getattr(training, key)}")
    if training.weight_decay < 0:
        problems.append(f"training.weight_decay: must not be negative, got {training.weight_decay}")
    elif training.learning_rate > 0 and training.weight_decay * training.learning_rate >= 1:
        problems.append(  # AdamW's decoupled decay multiplies the weights by 1 - lr * wd each step
            f"training.weight_decay: {training.weight_decay:g} times the learning rate ({training.learning_rate:g}) "
            "must be below 1: each step multiplies the weights by 1 minus it (0 or less: they vanish or flip sign)"
        )
    if training.epochs is not None and training.epochs < 1:
        problems.append(
            f"training.epochs: must be at least 1, got {training.epochs} (an untrained head's scores are no result)"
        )
    if training.eval_steps is not None and training.eval_steps < 1:
        problems.append(
            f"training.eval_steps: at least 1 (or null: dev scored once an epoch), got {training.eval_steps}"
        )
    if not 0 <= training.warmup_ratio < 1:
        problems.append(f"training.warmup_ratio: must be in [0, 1), got {training.warmup_ratio}")
    for key, known in (("batching", BATCHINGS), ("word_embeddings", WORD_EMBEDDINGS), ("lr_schedule", LR_SCHEDULES)):
        if getattr(training, key) not in known:
            problems.append(f"training.{key}: unknown value {shown(getattr(training, key))}; known: {', '.join(known)}")


def _check_task_files(
    name: str, task: Task, sources: list[Language], targets: list[Language], problems: list[str]
) -> None:
    checks = [(source, None) for source in sources] + [(sources[0] if sources else None, t) for t in targets]
    for source, target in checks:
        if source is None:
            continue
        keys = (
            ("train", "dev")
            if target is None
            else ("test", "pivot", "gold") + (() if task.needs_training else ("dev",))
        )
        language = source if target is None else target
        for key in keys:
            if key not in task.data_keys or (target is None and not task.needs_training):
                continue
            if key in task.optional_data_keys and not task.has_data(key, language):
                continue
            try:
                spec = task.spec(key, language)
            except UserError as err:
                problems.append(f"tasks.{name}.{key}: {err}")
                continue
            if spec.is_hub and not task.reads_hub:
                problems.append(f"tasks.{name}.{key}: {hub_refused(spec, name)}")
            elif spec.is_hub and (hub_problem := hub_spec_problem(spec.location) or hub_dataset_problem(spec.location)):
                problems.append(f"tasks.{name}.{key}: {hub_problem}")
            elif not spec.is_hub and (file_problem := text_file_problem(spec.location)) == NOT_FOUND:
                problems.append(f"tasks.{name}.{key}: file not found for {language.code}: {spec.location}")
            elif not spec.is_hub and file_problem:
                problems.append(f"tasks.{name}.{key}: {spec.location} for {language.code}: {file_problem}")
            elif not spec.is_hub and (spec.start is not None or spec.stop is not None):
                try:  # a slice may select nothing: read the examples, as the run would
                    task.load(spec) if target is None else task.target_examples(target)
                except UserError as err:
                    problems.append(f"tasks.{name}.{key}: {err}")
