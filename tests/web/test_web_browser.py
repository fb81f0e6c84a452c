"""A learner's whole day in a real browser (Debian's Chromium through Playwright):
register, run a challenge with the real `sockdojo run`, submit its flag, watch the board."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support import (
    Processes,
    flag_from_client_challenge,
    free_port,
    wait_listening,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but /usr/bin/chromium is missing (scripts/test installs it)")
        pytest.skip("needs Debian's chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def web_dojo(processes: Processes) -> Iterator[str]:
    """The real `sockdojo serve`, on the test's own SOCKDOJO_HOME."""
    port = free_port()
    server = processes.sockdojo("serve", "--port", str(port))
    wait_listening(port)
    yield f"http://127.0.0.1:{port}"
    processes.stop(server)


def test_register_run_submit_and_climb_the_board(
    browser: Browser,
    web_dojo: str,
    processes: Processes,
    cli: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.set_default_timeout(10_000)

    page.goto(f"{web_dojo}/sockets/")
    expect(page.locator("h2", has_text="30-Day Scoreboard")).to_be_visible()
    expect(page.locator("#scoreboard")).to_contain_text("No solves in this window yet")
    expect(page.locator("#solves-chart")).to_have_count(0)

    page.click("text=Register")
    page.fill("#name", "alice")
    page.fill("#password", "a long password")
    page.fill("#confirm", "a long password")
    page.click("button:has-text('Create my account')")
    expect(page.locator(".flash.ok")).to_have_text("Welcome, alice! Your account is ready.")
    expect(page).to_have_url(f"{web_dojo}/sockets/")

    page.click("a.title:has-text('Your first client')")
    expect(page.locator(".prose pre").first).to_have_text("sockdojo --account alice run client")

    page.fill("#flag", "sockdojo{not-really}")
    page.click("button:has-text('Submit')")
    expect(page.locator(".flash.error")).to_contain_text("not a flag from this dojo")

    flag = flag_from_client_challenge(processes, "alice")
    assert re.fullmatch(r"sockdojo\{[A-Za-z0-9_-]{32}\}", flag)
    page.fill("#flag", flag)
    page.click("button:has-text('Submit')")
    expect(page.locator(".flash.ok")).to_have_text("Correct! You solved Your first client.")
    expect(page.locator("h1 .pill")).to_have_text("solved")

    page.click("nav.bar >> text=Sockets")
    mine = page.locator("#scoreboard tr.mine")
    expect(mine.locator("td.rank")).to_have_text("1")
    expect(mine.locator("td.hacker")).to_have_text("alice")
    expect(mine.locator("td.score")).to_have_text("1")
    expect(mine.locator(".badge")).to_have_attribute("title", "First blood: Your first client")
    expect(page.locator('#solves-chart g.series[data-hacker="alice"]')).to_have_count(1)
    expect(page.locator('li[data-challenge="client"] .solves')).to_have_text("1 solve")
    page.screenshot(path=str(tmp_path / "module.png"), full_page=True)
    shots = os.environ.get("SOCKDOJO_SCREENSHOTS")
    if shots:
        page.screenshot(path=str(Path(shots) / "module.png"), full_page=True)

    # Another learner solves from the command line, with the same data directory.
    bob = cli("--account", "bob", "submit", flag_from_client_challenge(processes, "bob"))
    assert bob.returncode == 0, bob.stdout
    page.reload()
    expect(page.locator("#scoreboard td.hacker")).to_have_text(["alice", "bob"])
    expect(page.locator("#solves-chart g.series")).to_have_count(2)
    expect(page.locator('li[data-challenge="client"] .solves')).to_have_text("2 solves")

    page.click("nav.tabs >> text=7 days")
    expect(page.locator("h2", has_text="7-Day Scoreboard")).to_be_visible()
    expect(page.locator("#scoreboard tr.mine td.hacker")).to_have_text("alice")

    page.click("button:has-text('Log out')")
    expect(page.locator(".flash.ok")).to_have_text("You are logged out.")
    page.goto(f"{web_dojo}/sockets/")
    expect(page.locator("#scoreboard tr.mine")).to_have_count(0)
    expect(page.locator("#scoreboard td.hacker")).to_have_text(["alice", "bob"])

    page.click("nav.bar >> text=Log in")
    page.fill("#name", "alice")
    page.fill("#password", "a long password")
    page.click("form.stacked button:has-text('Log in')")
    expect(page.locator(".flash.ok")).to_have_text("Welcome back, alice.")
    page.goto(f"{web_dojo}/hacker/alice")
    expect(page.locator(".timeline")).to_contain_text("Your first client")
    expect(page.locator(".activity rect.level-1")).to_have_count(1)
