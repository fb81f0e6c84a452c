"""Badges an admin grants by hand. The computed ones (completion, first blood) live in
`sockdojo.scoreboard.badges`."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sockdojo.storage.models import Account, BadgeGrant

EMOJI_LIMIT = 16
TITLE_LIMIT = 100


def grant(
    session: Session,
    *,
    account_id: int,
    module_id: str,
    emoji: str,
    title: str,
    granted_by: int | None,
) -> BadgeGrant:
    emoji, title = emoji.strip(), title.strip()
    if not emoji or len(emoji) > EMOJI_LIMIT:
        raise ValueError(f"a badge needs an emoji of 1 to {EMOJI_LIMIT} characters")
    if not title or len(title) > TITLE_LIMIT:
        raise ValueError(f"a badge needs a title of 1 to {TITLE_LIMIT} characters")
    badge = BadgeGrant(
        account_id=account_id,
        module_id=module_id,
        emoji=emoji,
        title=title,
        granted_by=granted_by,
    )
    session.add(badge)
    session.flush()
    return badge


def revoke(session: Session, badge_id: int) -> bool:
    result = session.execute(delete(BadgeGrant).where(BadgeGrant.id == badge_id))
    return bool(getattr(result, "rowcount", 0))


def granted(session: Session, module_id: str) -> list[tuple[BadgeGrant, str]]:
    """The module's granted badges with their holder's name, in the order they were given."""
    rows = session.execute(
        select(BadgeGrant, Account.name)
        .join(Account, Account.id == BadgeGrant.account_id)
        .where(BadgeGrant.module_id == module_id)
        .order_by(BadgeGrant.created_at, BadgeGrant.id)
    )
    return [(grant, str(name)) for grant, name in rows]
