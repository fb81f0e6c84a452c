"""The pictures' geometry: step lines that only go up, and a calendar of the right shape."""

from __future__ import annotations

import datetime as dt

from sockdojo.web.chart import MIN_SPAN, Series, activity_grid, solves_over_time

END = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def points(series: Series) -> list[tuple[float, float]]:
    pairs = [pair.split(",") for pair in series.points.split()]
    return [(float(x), float(y)) for x, y in pairs]


def test_step_lines_rise_once_per_solve_and_end_at_now() -> None:
    start = END - dt.timedelta(days=30)
    solves = [END - dt.timedelta(days=20), END - dt.timedelta(days=3)]
    chart = solves_over_time([("alice", solves), ("bob", [])], start, END)
    alice, bob = chart.series
    line = points(alice)
    assert len(line) == 2 + 2 * len(solves)
    assert line[0] == (chart.left, chart.bottom)
    assert line[-1] == (chart.right, chart.top)  # the best score reaches the top
    xs, ys = [x for x, _ in line], [y for _, y in line]
    assert xs == sorted(xs) and ys == sorted(ys, reverse=True)
    assert (alice.total, bob.total) == (2, 0)
    assert points(bob) == [(chart.left, chart.bottom), (chart.right, chart.bottom)]
    assert [tick.label for tick in chart.y_ticks] == ["0", "1", "2"]
    assert chart.x_ticks[0].label == "Oct 28" and chart.x_ticks[-1].label == "Nov 27"
    assert alice.colour != bob.colour


def test_a_brand_new_dojo_still_gets_a_readable_time_axis() -> None:
    chart = solves_over_time(
        [("alice", [END - dt.timedelta(seconds=5)])], END - dt.timedelta(seconds=30), END
    )
    labels = [tick.label for tick in chart.x_ticks]
    assert len(set(labels)) == len(labels) == 5
    assert labels[0] == f"{END - MIN_SPAN:%H:%M}"
    positions = [tick.at for tick in chart.x_ticks]
    assert positions == sorted(positions) and positions[0] == chart.left


def test_activity_grid_covers_twelve_weeks_ending_today() -> None:
    today = dt.date(2026, 11, 27)  # a Friday
    cells, width, height = activity_grid([today, today, dt.date(2026, 11, 2)], today)
    assert (width, height) == (12 * 14, 7 * 14)
    assert cells[0].day.weekday() == 0 and cells[-1].day == today
    assert len(cells) == 11 * 7 + 5
    by_day = {cell.day: cell for cell in cells}
    assert (by_day[today].count, by_day[today].level) == (2, 2)
    assert by_day[dt.date(2026, 11, 2)].level == 1
    assert sum(cell.count for cell in cells) == 3
