"""User errors come back from a worker process (a Ray task pickles what its cell raised) as themselves: their
class, their one-line message and their attributes, whatever their constructors take."""

from __future__ import annotations

import importlib
import pickle
import pkgutil

import pytest

import mbert_eval
from mbert_eval.errors import DataError, UserError
from mbert_eval.languages import UnknownLanguageError, lookup


def _every_user_error() -> list[type[UserError]]:
    for module in pkgutil.walk_packages(mbert_eval.__path__, "mbert_eval."):
        if not module.name.endswith("__main__"):  # it runs the command line
            try:
                importlib.import_module(module.name)
            except ImportError:  # a module of an extra that is not installed
                continue
    found, waiting = [], [UserError]
    while waiting:
        kind = waiting.pop()
        found.append(kind)
        waiting += kind.__subclasses__()
    return found


def test_every_user_error_class_is_checked_below() -> None:
    names = {kind.__name__ for kind in _every_user_error()}
    assert names == {"UserError", "DataError", "UnknownLanguageError", "Locked", "JobLocked", "UnfinishedCell"}


def _examples() -> list[UserError]:
    from mbert_eval.grid.job import UnfinishedCell
    from mbert_eval.schedule.history import JobLocked
    from mbert_eval.store.locks import Locked

    try:
        lookup("germann")
    except UnknownLanguageError as err:
        unknown = err
    return [
        UserError("a plain problem"),
        DataError("/data/de-test.conllu", "not valid UTF-8", 3),
        unknown,
        Locked("the store is busy"),
        JobLocked("nightly is running"),
        UnfinishedCell("pos de: no examples", [], {"de": "its data changed"}),
    ]


@pytest.mark.parametrize("error", _examples(), ids=lambda error: type(error).__name__)
def test_a_user_error_survives_pickling(error: UserError) -> None:
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and str(again) == str(error) and vars(again) == vars(error)
