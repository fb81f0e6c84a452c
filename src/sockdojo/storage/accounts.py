"""Accounts: looked up by name regardless of case, created on first use in local mode.

A new name (registered on the web, or made with `sockdojo account add`) must also not pass
for someone else's on the scoreboard: not a reserved name (`admin`, `root`, …), no trailing
dot, and not a lookalike of a name already taken (`aIice` beside `alice`).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from sockdojo.config import ACCOUNT_NAME_RULE, valid_account_name
from sockdojo.storage.database import Store
from sockdojo.storage.locks import one_at_a_time
from sockdojo.storage.models import Account

NAME_RULE = f"Choose a name of {ACCOUNT_NAME_RULE}."
# Names that would pass for the dojo itself or its staff, and words of our own URLs.
RESERVED_NAMES = frozenset(
    {
        "admin",
        "administrator",
        "api",
        "instructor",
        "login",
        "logout",
        "moderator",
        "nobody",
        "null",
        "register",
        "root",
        "sockdojo",
        "staff",
        "static",
        "superuser",
        "support",
        "system",
        "teacher",
    }
)
# Characters that look alike in the fonts a scoreboard uses, replaced by one of them, in this
# order; then lower case; then pairs that look like one letter. The SQL below does the same.
_BEFORE_LOWER = (("I", "l"), ("1", "l"), ("0", "O"))
_AFTER_LOWER = (("rn", "m"), ("vv", "w"))


class NameTaken(ValueError):
    """The name, or one that looks just like it, belongs to an account already."""

    def __init__(self, message: str, *, lookalike: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.lookalike = lookalike


def lookalike_key(name: str) -> str:
    """What `name` looks like: two names with the same key are told apart only with care."""
    for old, new in _BEFORE_LOWER:
        name = name.replace(old, new)
    name = name.lower()
    for old, new in _AFTER_LOWER:
        name = name.replace(old, new)
    return name


def _lookalike_sql(name: InstrumentedAttribute[str]) -> ColumnElement[str]:
    # SQL's replace() is case-sensitive on SQLite and PostgreSQL, as str.replace is.
    column: ColumnElement[str] = name.expression
    for old, new in _BEFORE_LOWER:
        column = func.replace(column, old, new)
    column = func.lower(column)
    for old, new in _AFTER_LOWER:
        column = func.replace(column, old, new)
    return column


def new_name_problem(name: str) -> str | None:
    """Why `name` cannot be a new account's, or None (whether it is taken is for `create`)."""
    if not valid_account_name(name):
        return NAME_RULE
    if name.endswith("."):
        return "A name cannot end with a dot: choose another one."
    if name.lower().rstrip("._-") in RESERVED_NAMES or lookalike_key(name) in _RESERVED_KEYS:
        return f"The name {name!r} is reserved: choose another one."
    return None


_RESERVED_KEYS = frozenset(lookalike_key(name) for name in RESERVED_NAMES)


def find(session: Session, name: str) -> Account | None:
    return session.scalar(select(Account).where(Account.name_key == name.lower()))


def create(
    store: Store,
    name: str,
    *,
    admin: bool = False,
    hidden: bool = False,
    password_hash: str | None = None,
    refuse_lookalikes: bool = True,
) -> Account:
    """Create an account; raises NameTaken when the name is taken (in any case) or, with
    `refuse_lookalikes`, when a name that looks the same is.

    The look-up and the insert run one at a time across processes, so two lookalikes
    registered at once cannot both get in.
    """
    try:
        with one_at_a_time(store, "account names") as db, store.sessions(bind=db) as session:
            if refuse_lookalikes:
                clash: str | None = session.scalar(
                    select(Account.name)
                    .where(_lookalike_sql(Account.name) == lookalike_key(name))
                    .limit(1)
                )
                if clash is not None and clash.lower() != name.lower():
                    raise NameTaken(
                        f"the name {name!r} looks too much like {clash!r}, already taken",
                        lookalike=True,
                    )
            account = Account(
                name=name,
                name_key=name.lower(),
                is_admin=admin,
                is_hidden=hidden,
                password_hash=password_hash,
            )
            session.add(account)
            session.flush()
            session.expunge(account)
            return account
    except IntegrityError:
        raise NameTaken(f"the name {name!r} is already taken") from None


def get_or_create(store: Store, name: str) -> Account:
    """The local account `name`, made on first use (lookalikes allowed: it is the learner's
    own machine, and their login name may be anything)."""
    with store.session() as session:
        found = find(session, name)
        if found is not None:
            return found
    try:
        return create(store, name, refuse_lookalikes=False)
    except NameTaken:
        # Another process created it between our look-up and insert.
        with store.session() as session:
            found = find(session, name)
            assert found is not None
            return found
