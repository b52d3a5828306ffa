"""'Did you mean ...?' for names people type: rule codes and names, models, checks."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the closest of ``choices``, case-insensitively; else ``""``."""
    by_folded: dict[str, str] = {}
    for choice in choices:
        by_folded.setdefault(choice.lower(), choice)
    close = difflib.get_close_matches(word.lower(), list(by_folded), n=2, cutoff=0.85)
    if not close:
        return ""
    return f" (did you mean {' or '.join(by_folded[c] for c in close)}?)"
