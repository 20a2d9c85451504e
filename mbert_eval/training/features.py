"""The feature format tasks encode examples into and the batches pad (`batches.collate`): a dict of token ids
and labels. Needs no torch, so that task modules import it at no cost (issue 21, "Start fast")."""

from __future__ import annotations

Features = dict[str, object]


PAD_LABEL = -100


SPAN_LABELS = ("start_positions", "end_positions")  # extractive QA: the answer's first and last token
