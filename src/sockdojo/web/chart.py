"""Pictures drawn on the server as SVG geometry; the templates turn it into markup.

Only numbers and names leave this module: the names are escaped by Jinja like any other text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# A chart narrower than this would squash its ticks together (a dojo launched a minute ago).
MIN_SPAN = dt.timedelta(hours=1)
# Okabe-Ito colours: distinguishable with the common kinds of colour blindness.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    points: str  # an SVG polyline's "x,y x,y …"
    end_x: float
    end_y: float
    total: int


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    series: tuple[Series, ...]


def _time_label(when: dt.datetime, span: dt.timedelta) -> str:
    if span > dt.timedelta(days=2):
        return f"{when:%b} {when.day}"
    return f"{when:%H:%M}"


def _us(delta: dt.timedelta) -> int:
    """A timedelta in whole microseconds (what `timedelta / timedelta` divides)."""
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def solves_over_time(
    solves: list[tuple[str, list[dt.datetime]]],
    start: dt.datetime,
    end: dt.datetime,
    *,
    width: int = 720,
    height: int = 240,
) -> LineChart:
    """Each hacker's running count of solves from `start` to `end`, as step lines."""
    left, top, right, bottom = 36.0, 12.0, width - 24.0, height - 28.0
    start = min(start, end - MIN_SPAN)
    span = end - start
    span_us = _us(span)
    top_score = max([len(times) for _, times in solves] + [1])
    # Drawn on every module page: positions from integer microseconds, the heights once each.
    heights = [
        round(bottom - count / top_score * (bottom - top), 1) for count in range(top_score + 1)
    ]

    def x(when: dt.datetime) -> float:
        offset = min(max(_us(when - start), 0), span_us)
        return round(left + offset / span_us * (right - left), 1)

    series = []
    for index, (name, times) in enumerate(solves):
        points = [f"{x(start)},{heights[0]}"]
        for count, when in enumerate(sorted(times), start=1):
            at = x(when)
            points.append(f"{at},{heights[count - 1]}")
            points.append(f"{at},{heights[count]}")
        end_x, end_y = x(end), heights[len(times)]
        points.append(f"{end_x},{end_y}")
        series.append(
            Series(
                name=name,
                colour=PALETTE[index % len(PALETTE)],
                points=" ".join(points),
                end_x=end_x,
                end_y=end_y,
                total=len(times),
            )
        )
    x_ticks = tuple(
        Tick(x(start + span * step / 4), _time_label(start + span * step / 4, span))
        for step in range(5)
    )
    y_ticks = tuple(Tick(heights[count], str(count)) for count in range(top_score + 1))
    return LineChart(width, height, left, top, right, bottom, x_ticks, y_ticks, tuple(series))


@dataclass(frozen=True)
class Cell:
    x: int
    y: int
    day: dt.date
    count: int
    level: int  # 0 (none) to 3 (three solves or more)


def activity_grid(
    solve_days: list[dt.date], today: dt.date, weeks: int = 12, cell: int = 14
) -> tuple[tuple[Cell, ...], int, int]:
    """A calendar of the last `weeks` weeks, one square a day, darker with more solves.

    Returns the cells and the picture's width and height.
    """
    counts: dict[dt.date, int] = {}
    for day in solve_days:
        counts[day] = counts.get(day, 0) + 1
    # Columns are weeks starting on Monday, the last column holds today.
    first = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    cells = []
    day = first
    while day <= today:
        offset = (day - first).days
        count = counts.get(day, 0)
        cells.append(
            Cell(
                x=(offset // 7) * cell,
                y=(offset % 7) * cell,
                day=day,
                count=count,
                level=min(count, 3),
            )
        )
        day += dt.timedelta(days=1)
    return tuple(cells), weeks * cell, 7 * cell
