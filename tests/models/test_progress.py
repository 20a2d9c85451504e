"""Every progress bar of the package is drawn by one rule (`models.progress.progress_bar`): where its caller shows
it, but never in a quiet run's processes (TQDM_DISABLE, which tqdm itself reads once, at import, and only as a
default) nor in any process of a launch but the first (RANK)."""

import pytest

from mbert_eval.models.progress import progress_bar


@pytest.mark.parametrize(
    "shown, environment, drawn",
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"TQDM_DISABLE": "1"}, False),
        (True, {"TQDM_DISABLE": ""}, True),  # as tqdm reads it: the empty value switches nothing off
        (True, {"RANK": "0"}, True),
        (True, {"RANK": "1"}, False),
    ],
)
def test_a_bar_is_drawn_where_shown_unless_quiet_or_a_later_process(shown, environment, drawn, monkeypatch, capsys):
    for name in ("TQDM_DISABLE", "RANK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert list(progress_bar(range(3), shown=shown, desc="counting")) == [0, 1, 2]
    assert ("counting" in capsys.readouterr().err) is drawn
