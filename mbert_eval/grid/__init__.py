"""The grid: an experiment resolved once (`resolve`: its tasks built once, its cells with their keys, identities
and fine-tuning settings, every problem found by `validation`), a grid's cells and their keys (`cells`), one cell
as a picklable job (`job`: CellJob, run_cell), where jobs run (`executors`: local, Ray, several GPUs with
accelerate), running a resolved grid against the store (`run`: plan, run_resolved), train/test leakage
(`leakage`) and the freshness of stored cells (`freshness`)."""
