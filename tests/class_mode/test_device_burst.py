"""An approved device code polled by 40 clients at once gives one token, once; on a real
`sockdojo serve` over SQLite and PostgreSQL. And bodies too large for the class API."""

from __future__ import annotations

from pathlib import Path

import httpx

import api_contract
from class_mode.laptops import PASSWORD, clients, start_class_server
from support import Processes, burst

BURST = 40
GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def test_one_token_for_a_burst_of_polls(
    tmp_path: Path, processes: Processes, database_url: str
) -> None:
    server = start_class_server(processes, tmp_path / "server", database_url=database_url)
    url = server.url
    with api_contract.client(base_url=url, timeout=30) as browser:
        started = browser.post("/api/v1/device/code", data={"client_host": "laptop"}).json()
        csrf = browser.get("/api/v1/me").json()["csrf_token"]
        browser.post(
            "/register",
            data={"csrf_token": csrf, "name": "ada", "password": PASSWORD, "confirm": PASSWORD},
        )
        csrf = browser.get("/api/v1/me").json()["csrf_token"]
        approved = browser.post(
            "/device",
            data={"csrf_token": csrf, "user_code": started["user_code"], "decision": "approve"},
        )
        assert "Approved" in approved.text
        # Far too large for anything of ours: refused before it is read.
        huge = browser.post("/api/v1/device/token", content=b"x" * (1 << 20))
        assert huge.status_code == 413

    def poll(client: httpx.Client) -> tuple[int, str]:
        answer = client.post(
            "/api/v1/device/token",
            data={"grant_type": GRANT, "device_code": started["device_code"]},
        )
        body = answer.json()
        return answer.status_code, body.get("access_token") or body["error"]

    with clients(url, BURST) as polling:
        answers = burst(BURST, lambda n: poll(polling[n]))
    granted = [value for status, value in answers if status == 200]
    assert len(answers) == BURST
    assert len(granted) == 1, answers
    assert sorted(value for status, value in answers if status != 200) == ["invalid_grant"] * (
        BURST - 1
    )
    with api_contract.client(base_url=url, timeout=30) as cli:
        me = cli.get("/api/v1/tokens/current", headers={"Authorization": f"Bearer {granted[0]}"})
    assert me.json()["account"]["name"] == "ada"
    processes.stop(server.process)
