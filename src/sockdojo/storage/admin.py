"""What the dojo's hosts change: account visibility, passwords, the launch date; solve exports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sockdojo.storage.models import Account, Module, Solve


def all_accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.id)))


def solves_per_account(session: Session, module_id: str) -> dict[int, int]:
    """How many solves of the module each account has (any time, any challenge)."""
    rows = session.execute(
        select(Solve.account_id, func.count(Solve.id))
        .where(Solve.module_id == module_id)
        .group_by(Solve.account_id)
    )
    return {int(account_id): int(count) for account_id, count in rows}


def set_hidden(session: Session, account_id: int, hidden: bool) -> Account | None:
    account = session.get(Account, account_id)
    if account is not None:
        account.is_hidden = hidden
    return account


def visibility_said(name: str, hidden: bool) -> str:
    """What the admin page and `sockdojo account hide/show` say after `set_hidden`."""
    return f"{name} is now {'hidden from' if hidden else 'shown on'} the scoreboard."


def set_password_hash(session: Session, account_id: int, password_hash: str) -> None:
    account = session.get(Account, account_id)
    if account is None:
        raise LookupError(f"no account with id {account_id}")
    account.password_hash = password_hash


def launch_date(session: Session, module_id: str) -> dt.datetime | None:
    """When the module opened in this dojo (nothing counts before); None: no such module."""
    module = session.get(Module, module_id)
    return module.launched_at if module is not None else None


def set_launch_date(session: Session, module_id: str, when: dt.datetime) -> None:
    module = session.get(Module, module_id)
    if module is None:
        raise LookupError(f"no module {module_id!r}")
    module.launched_at = when


@dataclass(frozen=True)
class SolveRecord:
    solve_id: int
    account_id: int
    hacker: str
    admin: bool
    hidden: bool
    module_id: str
    challenge_id: str
    solved_at: dt.datetime


def solve_records(session: Session, module_id: str) -> Iterator[SolveRecord]:
    """Every solve of the module, oldest first, with who made it (hidden accounts included)."""
    rows = session.execute(
        select(
            Solve.id,
            Solve.account_id,
            Account.name,
            Account.is_admin,
            Account.is_hidden,
            Solve.module_id,
            Solve.challenge_id,
            Solve.solved_at,
        )
        .join(Account, Account.id == Solve.account_id)
        .where(Solve.module_id == module_id)
        .order_by(Solve.solved_at, Solve.id)
    )
    for row in rows:
        yield SolveRecord(*row)
