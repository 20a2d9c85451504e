"""CSV for spreadsheets (report/exports.py: csv_text): text that a spreadsheet would run is quoted, numbers are not."""

import pandas as pd

from mbert_eval.report.exports import csv_text


def test_csv_text_quotes_formula_text_and_keeps_numbers() -> None:
    frame = pd.DataFrame({"name": ["=1+1", "-x", "plain", None], "mixed": ["-y", -0.5, 2, None], "n": [-1, 0, 1, 2]})
    lines = csv_text(frame).split("\r\n")
    assert lines[:4] == ["name,mixed,n", "'=1+1,'-y,-1", "'-x,-0.5,0", "plain,2,1"]
