"""Experiment configs: `experiment` (the typed dataclasses: Experiment, TrainingConfig, TaskConfig,
MethodConfig, ParallelConfig, TLMConfig, AlignConfig, RayConfig, ModelEntry; `stable_hash`), `loading`
(`load_experiment` for a file, `build_experiment` for a mapping, `parse_override`), `yaml_reader` (`read_yaml`,
`parse_yaml`: safe YAML of bounded size, no duplicate key) and `typed` (YAML data → dataclasses with key-path
problems). Checks that need tasks, methods or models live in `grid.validation`."""
