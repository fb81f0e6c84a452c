"""Sliding-window limits computed from stored attempt times (so they hold across processes)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence


def retry_after(
    times: Sequence[dt.datetime], limit: int, period: dt.timedelta, now: dt.datetime
) -> int | None:
    """Seconds until fewer than `limit` of `times` remain in the period, or None if already so."""
    if len(times) < limit:
        return None
    # The attempt whose ageing out brings the count back under the limit.
    pivot = sorted(times)[len(times) - limit]
    return max(1, math.ceil((pivot + period - now).total_seconds()))
