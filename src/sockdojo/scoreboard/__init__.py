"""The module scoreboard: who solved how much of a module, and when.

The rules, which every implementation (the SQL reference in `reference.py`, the live engine in
`live/`) must follow exactly:

* **Counted solves.** A solve counts for a window when all of these hold:
  it is of one of the module's current challenges (`registry`); its account is neither hidden
  nor an admin; `solved_at >= launched_at` (the module's launch date, inclusive); and
  `now - days < solved_at <= now`. The window is half-open: a solve exactly `days` days old has
  just left it, a solve at `now` is in it, a solve after `now` does not exist yet. `days == 0`
  means all time (only the launch date and `now` bound it). The module page offers 30 (the
  default), 7 and 0.
* **Score** = the number of counted solves (an account solves a challenge at most once).
  Accounts with no counted solve are not on the board.
* **Rank** is unique: score descending, then the earlier last counted solve (who reached that
  score first), then the lower account id.
* **The page** shows ranks `1..limit`; `me` is the viewer's row wherever it ranks (also on the
  page), or None when the viewer is anonymous, hidden, an admin, or has no counted solve.
* **Badges** (shown whatever the window):
  - completion: the account has solved every challenge of the module (at any time up to `now`,
    before the launch date too: it is an achievement, not a competition);
  - first blood, one per challenge: the earliest solve at or after the launch date (and at or
    before `now`) among accounts that are neither hidden nor admins; a tie on `solved_at` goes
    to the lower account id. Hidden and admin accounts never take first blood, so that testers
    do not steal it from learners, and first blood moves on if its holder is hidden later;
  - granted: badges an admin awarded by hand (`storage.badges`), in the order they were given.
  Order on a row: completion, first bloods in challenge order, granted.

The package imports nothing itself: `model` (the windows, the shapes of a board) stays standard
library, so the API's shapes and the CLI's options read the windows from it without loading
SQLAlchemy; the SQL answers are in `reference` and `query`, the live engine in `live`.
"""
