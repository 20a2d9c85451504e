"""The task registry: a new task is one declarative entry here."""
from functools import partial

from mbert_eval.tasks.alignment import AlignmentTask
from mbert_eval.tasks.base import (
    TASKS,
    Prepared,
    Task,
    TaskData,
    TaskMetadata,
    get_task,
)
from mbert_eval.tasks.pair_classification import (
    PARAPHRASE,
    PAWSX,
    XNLI,
    PairClassificationTask,
)
from mbert_eval.tasks.retrieval import RetrievalTask
from mbert_eval.tasks.tagging import NERTask, POSTask

TASKS.update(
    {
        "pos": POSTask,
        "ner": NERTask,
        "xnli": partial(PairClassificationTask, metadata=XNLI),
        "pawsx": partial(PairClassificationTask, metadata=PAWSX),
        "paraphrase": partial(PairClassificationTask, metadata=PARAPHRASE),
        "tatoeba": RetrievalTask,
        "alignment": AlignmentTask,
    }
)

__all__ = ["TASKS", "Prepared", "Task", "TaskData", "TaskMetadata", "get_task"]
