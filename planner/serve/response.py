"""`ScoreResponse`: what a score.py `run()` returns to choose its HTTP status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ScoreResponse:
    """Same arguments as Azure ML's `AMLResponse(message, status_code, json_str=False)`.

    A str message with a status >= 400 is sent as `{"error": message}`; anything else as JSON.
    """

    message: Any
    status_code: int = 200
    json_str: bool = False
