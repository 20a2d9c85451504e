"""The grid: an experiment's cells (`cells`: expand, cell_key, fine_tune_settings), one cell as a picklable job
(`job`: CellJob, run_cell), where jobs run (`executors`: local, Ray, several GPUs with accelerate), running a
grid against the store (`run`: plan, run_experiment), and checking a grid without running it (`validation`)."""
