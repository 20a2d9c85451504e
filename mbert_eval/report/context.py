"""What every report format is rendered from: the store's rows, the task summaries and the rest, computed once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mbert_eval.report.regressions import Regressions
from mbert_eval.report.summary import TaskSummary
from mbert_eval.report.xtreme import XtremeScores
from mbert_eval.store.results import StoredConfig


@dataclass(frozen=True)
class ReportData:
    """The inputs of a report: the store's rows (`frame`, models as stored), its summaries (models by display name),
    path, configs, a run's `config` the store may lack, a job's `regressions`, the XTREME score (None: not shown)."""

    frame: pd.DataFrame
    summaries: list[TaskSummary]
    store_path: Path
    title: str
    configs: list[StoredConfig]
    config: StoredConfig | None
    regressions: Regressions | None
    xtreme: XtremeScores | None
