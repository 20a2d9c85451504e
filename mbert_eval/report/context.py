"""What every report format is rendered from: the store's rows, the task summaries and the rest, computed once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from mbert_eval.report.regressions import Regressions
from mbert_eval.report.summary import TaskSummary
from mbert_eval.report.xtreme import XtremeScores
from mbert_eval.store.results import StoredConfig

if TYPE_CHECKING:
    from mbert_eval.report.why import WhySection


@dataclass(frozen=True)
class ReportData:
    """The inputs of a report: the store's rows (`frame`, models as stored), its summaries (models by display name),
    path, configs, a run's `config` the store may lack, a job's `regressions`, the XTREME score (None: not shown),
    and the "Why transfer differs" section per model (empty: not shown)."""

    frame: pd.DataFrame
    summaries: list[TaskSummary]
    store_path: Path
    title: str
    configs: list[StoredConfig]
    config: StoredConfig | None
    regressions: Regressions | None
    xtreme: XtremeScores | None
    why: list[WhySection] = field(default_factory=list)
