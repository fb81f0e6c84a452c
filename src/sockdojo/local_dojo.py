"""The local dojo the CLI works with: settings, store, flag authority and current account."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sockdojo.config import Settings
from sockdojo.flags import HmacFlagAuthority, load_or_create_secret
from sockdojo.storage import accounts
from sockdojo.storage.database import Store
from sockdojo.storage.models import Account


@dataclass
class LocalDojo:
    settings: Settings
    account_name: str

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.database_url)

    @cached_property
    def authority(self) -> HmacFlagAuthority:
        return HmacFlagAuthority(
            load_or_create_secret(self.settings.home), self.settings.flag_prefix
        )

    @cached_property
    def account(self) -> Account:
        return accounts.get_or_create(self.store, self.account_name)
