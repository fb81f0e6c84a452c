"""The in-process class dojo's harness: a web dojo harness that makes API tokens too."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from web.conftest import Harness

if TYPE_CHECKING:
    from starlette.testclient import TestClient

NEW_TOKEN = re.compile(r'<code id="new-token">([^<]+)</code>')


class ClassHarness(Harness):
    def token(self, client: TestClient, name: str = "laptop", days: str = "") -> str:
        """A token made on the account page, as its owner would."""
        page = client.post(
            "/account/tokens", data={"csrf_token": self.csrf(client), "name": name, "days": days}
        )
        assert page.status_code == 200, page.text
        found = NEW_TOKEN.search(page.text)
        assert found, page.text
        return found.group(1)

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}
