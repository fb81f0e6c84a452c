"""The instructor view (admins): where each learner is, and where the class is stuck.

* The progress matrix: learners x challenges, each cell solved (with when), attempted (the
  last diagnosis code the CLI showed, and how many runs), or not started.
* "Where the class is stuck": per challenge, each diagnosis code met in the last 7 days, the
  distinct learners who met it, and which of them solved the challenge afterwards.
* The grade book: one row per learner, a column per challenge with the solve time, a total;
  as CSV and as JSON.

Built from the solves, a per-(learner, challenge) summary of the stored run reports, and the
reports of the last 7 days (`storage.runs`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sockdojo import api_shapes as shapes
from sockdojo.challenges import registry
from sockdojo.storage import admin, runs
from sockdojo.storage.database import Store
from sockdojo.web.api_routes import SESSION, ApiRoute, Reply, answer
from sockdojo.web.context import dojo_of, require_admin
from sockdojo.web.database_work import in_database
from sockdojo.web.dojo import csv_safe
from sockdojo.web.rendering import render

STUCK_WINDOW = dt.timedelta(days=7)
GRADEBOOK_NAME = f"sockdojo-{registry.MODULE_ID}-gradebook.csv"


def class_view(store: Store, now: dt.datetime) -> shapes.ClassView:
    """The view in the API's shape, which the page, the grade book and the JSON all show."""
    challenges = tuple(registry.CHALLENGES)
    with store.session() as session:
        learners = [a for a in admin.all_accounts(session) if not a.is_admin]
        solved: Solved = {
            (record.account_id, record.challenge_id): record.solved_at
            for record in admin.solve_records(session, registry.MODULE_ID)
        }
        ran = runs.summaries(session)
        recent = runs.runs_between(session, now - STUCK_WINDOW)
    rows = []
    for learner in learners:
        cells = {c.id: _cell((learner.id, c.id), solved, ran) for c in challenges}
        total = sum(cell.state == "solved" for cell in cells.values())
        rows.append(
            shapes.ClassLearner(
                hacker=learner.name, hidden=learner.is_hidden, total=total, challenges=cells
            )
        )
    names = {learner.id: learner.name for learner in learners}
    return shapes.ClassView(
        challenges=[c.id for c in challenges],
        learners=rows,
        stuck=_stuck(challenges, names, solved, recent),
    )


# When each (account, challenge) was solved.
Solved = dict[tuple[int, str], dt.datetime]


def _cell(
    key: tuple[int, str], solved: Solved, summaries: dict[tuple[int, str], runs.RunSummary]
) -> shapes.ClassCell:
    """One cell of the matrix (account, challenge): solved, attempted or not started."""
    summary = summaries.get(key)
    state: shapes.CellState = (
        "solved" if key in solved else "attempted" if summary is not None else "not_started"
    )
    return shapes.ClassCell(
        state=state,
        solved_at=solved[key].isoformat() if key in solved else None,
        last_diagnosis=summary.last_diagnosis if summary else None,
        runs=summary.runs if summary else 0,
    )


def _stuck(
    challenges: tuple[registry.Challenge, ...],
    names: dict[int, str],
    solved: Solved,
    recent: list[runs.Run],
) -> list[shapes.StuckCode]:
    """Per challenge and diagnosis code met in `recent` (oldest first), who met it and who of
    them solved the challenge after first meeting it; the most met first."""
    first_met: dict[tuple[str, str], dict[int, dt.datetime]] = defaultdict(dict)
    for report in recent:  # oldest first: the first meeting of each code is kept
        if report.account_id not in names:
            continue
        for code in dict.fromkeys(report.diagnoses):
            first_met[(report.challenge_id, code)].setdefault(report.account_id, report.created_at)
    order = {challenge.id: index for index, challenge in enumerate(challenges)}
    stuck = [
        shapes.StuckCode(
            challenge=challenge_id,
            diagnosis=code,
            learners=sorted(names[account] for account in met),
            solved_after=sorted(
                names[account]
                for account, when in met.items()
                if (account, challenge_id) in solved and solved[(account, challenge_id)] > when
            ),
        )
        for (challenge_id, code), met in first_met.items()
    ]
    stuck.sort(key=lambda s: (order.get(s.challenge, 99), -len(s.learners), s.diagnosis))
    return stuck


def gradebook_csv(view: shapes.ClassView) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["hacker", *view.challenges, "total"])
    for row in view.learners:
        solved_at = (row.challenges[challenge].solved_at for challenge in view.challenges)
        writer.writerow([csv_safe(row.hacker), *(when or "" for when in solved_at), row.total])
    return buffer.getvalue()


async def _view(request: Request) -> shapes.ClassView:
    await require_admin(request)
    dojo = dojo_of(request)
    return await in_database(class_view, dojo.store, dojo.now())


async def instructor_page(request: Request) -> Response:
    view = await _view(request)
    return await render(request, "instructor.html", {"view": view})


async def gradebook(request: Request) -> Response:
    view = await _view(request)
    return Response(
        gradebook_csv(view),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{GRADEBOOK_NAME}"'},
    )


async def class_json(request: Request) -> Response:
    """The instructor view: progress matrix and where the class is stuck"""
    return answer(await _view(request))


ROUTES = [
    Route("/admin/class", instructor_page, name="instructor"),
    Route("/admin/class/gradebook.csv", gradebook, name="gradebook"),
    ApiRoute(
        "/admin/class",
        class_json,
        security=SESSION,
        replies={
            200: Reply(shapes.ClassView, "OK"),
            401: Reply(shapes.Error, "Not signed in"),
            403: Reply(shapes.Error, "Not an admin signed in in a browser"),
        },
    ),
]
