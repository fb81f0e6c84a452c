"""Accounts: looked up by name regardless of case, created on first use in local mode."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sockdojo.storage.database import Store
from sockdojo.storage.models import Account


def find(session: Session, name: str) -> Account | None:
    return session.scalar(select(Account).where(Account.name_key == name.lower()))


def create(
    store: Store,
    name: str,
    *,
    admin: bool = False,
    hidden: bool = False,
    password_hash: str | None = None,
) -> Account:
    """Create an account; raises ValueError when the name is taken (in any case)."""
    try:
        with store.session() as session:
            account = Account(
                name=name,
                name_key=name.lower(),
                is_admin=admin,
                is_hidden=hidden,
                password_hash=password_hash,
            )
            session.add(account)
            session.flush()
            return account
    except IntegrityError:
        raise ValueError(f"the name {name!r} is already taken") from None


def get_or_create(store: Store, name: str) -> Account:
    with store.session() as session:
        found = find(session, name)
        if found is not None:
            return found
    try:
        return create(store, name)
    except ValueError:
        # Another process created it between our look-up and insert.
        with store.session() as session:
            found = find(session, name)
            assert found is not None
            return found
