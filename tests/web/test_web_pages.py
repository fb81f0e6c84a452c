"""The pages, in process: what a visitor sees and what their forms do."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from sockdojo.challenges import registry
from sockdojo.flags import HmacFlagAuthority
from sockdojo.storage.database import Store
from sockdojo.storage.models import Submission

if TYPE_CHECKING:
    from web.conftest import Clock, Harness

TITLES = [challenge.title for challenge in registry.CHALLENGES]


def rows_of(html: str) -> list[tuple[str, str, str]]:
    """(rank, hacker, score) of each scoreboard row, in order."""
    body = html.split('id="scoreboard"', 1)[1].split("</table>", 1)[0]
    return re.findall(
        r'<td class="rank">(\d+)</td>\s*<td class="hacker"><a [^>]*>([^<]*)</a></td>'
        r'.*?<td class="score">(\d+)</td>',
        body,
        flags=re.S,
    )


def test_home_lists_the_module(dojo: Harness) -> None:
    page = dojo.client().get("/")
    assert page.status_code == 200
    assert 'href="/sockets/"' in page.text
    assert "Sockets" in page.text
    assert "Register" in page.text


def test_module_page_shows_introduction_challenges_and_30_day_board(dojo: Harness) -> None:
    page = dojo.client().get("/sockets/")
    assert page.status_code == 200
    assert "A socket is one end of a" in page.text  # the introduction, rendered
    for challenge in registry.CHALLENGES:
        assert challenge.title in page.text
        assert challenge.summary in page.text
        assert f'href="/sockets/{challenge.id}/"' in page.text
    assert "30-Day Scoreboard" in page.text
    for heading in ("Rank", "Hacker", "Badges", "Score"):
        assert f">{heading}</th>" in page.text
    assert "No solves in this window yet" in page.text


def test_module_page_windows(dojo: Harness) -> None:
    client = dojo.client()
    alice, bob = dojo.account("alice"), dojo.account("bob")
    now = dojo.clock.now
    dojo.solve(alice, "client", now - dt.timedelta(days=2))
    dojo.solve(bob, "client", now - dt.timedelta(days=10))
    dojo.solve(bob, "server", now - dt.timedelta(days=40))
    # Same score: bob got there first.
    assert rows_of(client.get("/sockets/").text) == [("1", "bob", "1"), ("2", "alice", "1")]
    week = client.get("/sockets/?days=7").text
    assert "7-Day Scoreboard" in week
    assert rows_of(week) == [("1", "alice", "1")]
    ever = client.get("/sockets/?days=0").text
    assert "All-Time Scoreboard" in ever
    assert rows_of(ever) == [("1", "bob", "2"), ("2", "alice", "1")]
    assert client.get("/sockets/?days=3").status_code == 400
    assert client.get("/sockets/?days=thirty").status_code == 400


def test_module_page_shows_solved_state_and_solve_counts(dojo: Harness) -> None:
    client, alice = dojo.signed_in("alice")
    bob = dojo.account("bob")
    dojo.solve(alice, "client")
    dojo.solve(bob, "client")
    dojo.solve(bob, "server")
    html = client.get("/sockets/").text
    items = dict(re.findall(r'data-challenge="([^"]+)">(.*?)</li>', html, flags=re.S))
    assert "solved" in items["client"] and "2 solves" in items["client"]
    assert "pill ok" not in items["server"] and "1 solve<" in items["server"]
    assert "0 solves" in items["eight-ball"]


def test_viewer_row_shown_even_when_off_the_page(dojo: Harness) -> None:
    now = dojo.clock.now
    for number in range(22):
        hacker = dojo.account(f"h{number:02}", password="correct horse battery")
        dojo.solve(hacker, "client", now - dt.timedelta(hours=40 - number))
        dojo.solve(hacker, "server", now - dt.timedelta(hours=40 - number))
    client, late = dojo.signed_in("late")
    dojo.solve(late, "client", now - dt.timedelta(minutes=5))
    html = client.get("/sockets/").text
    rows = rows_of(html)
    assert len(rows) == 21  # 20 on the page, then the viewer's own
    assert rows[-1] == ("23", "late", "1")
    assert '<tr class="gap">' in html
    assert html.count('<tr class="mine">') == 1

    # A viewer on the page is marked where they are, and not repeated below.
    top = dojo.client()
    assert dojo.login(top, "h00").status_code == 303
    html = top.get("/sockets/").text
    assert len(rows_of(html)) == 20
    assert '<tr class="gap">' not in html
    assert re.search(r'<tr class="mine">\s*<td class="rank">1</td>', html)


def test_challenge_page(dojo: Harness) -> None:
    anonymous = dojo.client().get("/sockets/client/")
    assert anonymous.status_code == 200
    assert "Your first client" in anonymous.text
    assert "<code>sock.connect((&quot;127.0.0.1&quot;, 1337))</code>" in anonymous.text
    assert anonymous.text.count("<pre><code>sockdojo run client\n</code></pre>") == 1
    assert "to submit flags" in anonymous.text
    assert 'action="/sockets/client/submit"' not in anonymous.text

    client, _ = dojo.signed_in("alice")
    page = client.get("/sockets/client/")
    # The command is shown once, where the description teaches it, with the account in it.
    assert page.text.count("<pre><code>sockdojo --account alice run client\n</code></pre>") == 1
    assert "<pre><code>sockdojo run client" not in page.text
    assert 'action="/sockets/client/submit"' in page.text
    assert 'name="csrf_token"' in page.text
    assert "A server that keeps serving" not in page.text  # pager: previous/next only
    assert "Your first server →" in page.text
    reuse = client.get("/sockets/reuse-address/")
    assert "sockdojo --account alice run reuse-address server.py" in reuse.text
    assert dojo.client().get("/sockets/no-such/").status_code == 404


def test_flag_form_solves_and_updates_the_board(dojo: Harness, store: Store) -> None:
    client, alice = dojo.signed_in("alice")
    answer = dojo.submit(client, "client", dojo.flag(alice, "client"))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sockets/client/#submit-flag"
    page = client.get("/sockets/client/").text
    assert "Correct! You solved Your first client." in page
    assert "pill ok" in page
    assert rows_of(client.get("/sockets/").text) == [("1", "alice", "1")]

    dojo.submit(client, "server", dojo.flag(alice, "client"))
    assert (
        "error",
        "This is your flag for Your first client, not for Your first server. "
        "Submit it there instead.",
    ) in dojo.flashes(client, "/sockets/server/")
    dojo.submit(client, "server", "sockdojo{nope}")
    with store.session() as session:
        verdicts = [s.verdict for s in session.query(Submission).order_by(Submission.id)]
        sources = {s.source for s in session.query(Submission)}
    assert verdicts == ["solved", "wrong_challenge", "not_a_flag"]
    assert sources == {"web"}


def test_someone_elses_flag_is_refused(dojo: Harness) -> None:
    client, _ = dojo.signed_in("alice")
    bob = dojo.account("bob")
    dojo.submit(client, "client", dojo.flag(bob, "client"))
    kinds = dojo.flashes(client, "/sockets/client/")
    assert kinds and kinds[0][0] == "error" and "not yours" in kinds[0][1]
    assert rows_of(client.get("/sockets/").text) == []


def test_anonymous_flag_submission_goes_to_login(dojo: Harness) -> None:
    client = dojo.client()
    answer = dojo.submit(client, "client", "sockdojo{x}")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/sockets/client/"


def test_chart_draws_the_top_hackers(dojo: Harness) -> None:
    now = dojo.clock.now
    for number, solved in enumerate([5, 4, 3, 2, 1, 1, 1]):
        hacker = dojo.account(f"h{number}")
        for challenge in registry.CHALLENGES[:solved]:
            dojo.solve(hacker, challenge.id, now - dt.timedelta(days=1, hours=10 - number))
    html = dojo.client().get("/sockets/").text
    assert 'id="solves-chart"' in html
    drawn = re.findall(r'<g class="series" data-hacker="([^"]+)">', html)
    assert drawn == ["h0", "h1", "h2", "h3", "h4"]  # five lines, in rank order
    points = re.findall(r'<polyline points="([^"]+)"', html)
    # A step line: its start, two points per solve, its end.
    assert [len(p.split()) for p in points] == [12, 10, 8, 6, 4]


def test_chart_is_absent_on_an_empty_board(dojo: Harness) -> None:
    assert 'id="solves-chart"' not in dojo.client().get("/sockets/").text


def test_hacker_page(dojo: Harness) -> None:
    alice = dojo.account("alice")
    for challenge in registry.CHALLENGES:
        dojo.solve(alice, challenge.id, dojo.clock.now - dt.timedelta(days=3))
    page = dojo.client().get("/hacker/alice")
    assert page.status_code == 200
    for title in TITLES:
        assert title in page.text
    assert "Completed the Sockets module" in page.text
    assert "First blood: Your first client" in page.text
    assert 'class="activity"' in page.text
    assert page.text.count('class="level-1"') == 0 and page.text.count('class="level-3"') == 1
    assert "#1" in page.text
    assert "Your latest attempts" not in page.text
    assert dojo.client().get("/hacker/ALICE").status_code == 200  # names ignore case
    assert dojo.client().get("/hacker/nobody").status_code == 404


def test_own_hacker_page_shows_latest_attempts(dojo: Harness) -> None:
    client, _ = dojo.signed_in("alice")
    dojo.submit(client, "client", "sockdojo{guess}")
    page = client.get("/hacker/alice").text
    assert "Your latest attempts" in page
    assert "not a flag" in page


def test_hidden_hacker_page_only_for_self_and_admins(dojo: Harness) -> None:
    dojo.account("ghost", hidden=True)
    assert dojo.client().get("/hacker/ghost").status_code == 404
    admin_client, _ = dojo.signed_in("root", admin=True)
    assert admin_client.get("/hacker/ghost").status_code == 200
    own, _ = dojo.signed_in("shade", hidden=True)
    assert "hidden" in own.get("/hacker/shade").text


def test_register_signs_in(dojo: Harness) -> None:
    client = dojo.client()
    answer = dojo.register(client, "alice")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sockets/"
    page = client.get("/sockets/").text
    assert "Welcome, alice!" in page
    assert 'href="/hacker/alice" class="me"' in page
    assert client.get("/api/v1/me").json()["account"] == {
        "name": "alice",
        "admin": False,
        "hidden": False,
    }


def test_register_problems(dojo: Harness) -> None:
    client = dojo.client()
    dojo.register(client, "alice")
    other = dojo.client()
    taken = dojo.register(other, "ALICE")
    assert taken.status_code == 400 and "That name is taken" in taken.text
    bad = dojo.register(other, "no spaces")
    assert bad.status_code == 400 and "Choose a name" in bad.text
    short = dojo.register(other, "bob", password="short")
    assert short.status_code == 400 and "at least 8 characters" in short.text
    differ = dojo.register(other, "bob", confirm="something else")
    assert differ.status_code == 400 and "The two passwords differ" in differ.text
    assert other.get("/api/v1/me").json()["account"] is None


def test_login_and_logout(dojo: Harness) -> None:
    dojo.account("alice", password="correct horse battery")
    client = dojo.client()
    wrong = dojo.login(client, "alice", "wrong password")
    assert wrong.status_code == 400 and "Wrong name or password." in wrong.text
    unknown = dojo.login(client, "nobody", "whatever password")
    assert unknown.status_code == 400 and "Wrong name or password." in unknown.text
    assert dojo.login(client, "Alice").status_code == 303
    assert client.get("/api/v1/me").json()["account"]["name"] == "alice"
    out = client.post("/logout", data={"csrf_token": dojo.csrf(client)})
    assert out.status_code == 303
    assert client.get("/api/v1/me").json()["account"] is None


def test_login_returns_to_the_page_asked_for(dojo: Harness) -> None:
    dojo.account("alice", password="correct horse battery")
    client = dojo.client()
    form = client.get("/login?next=/sockets/server/").text
    assert 'name="next" value="/sockets/server/"' in form
    answer = dojo.login(client, "alice", "correct horse battery", next="/sockets/server/")
    assert answer.headers["location"] == "/sockets/server/"


def test_cli_account_without_password_cannot_log_in(dojo: Harness) -> None:
    dojo.account("local")
    assert dojo.login(dojo.client(), "local", "").status_code == 400
    assert dojo.login(dojo.client(), "local", "anything at all").status_code == 400


def test_static_stylesheet(dojo: Harness) -> None:
    css = dojo.client().get("/static/style.css")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]


def test_registering_goes_back_where_it_was_sent_from_and_only_here(
    dojo: Harness, store: Store
) -> None:
    client = dojo.client()
    page = client.get("/register?next=/device%3Fuser_code%3DBCDF-GHJK")
    assert 'name="next" value="/device?user_code=BCDF-GHJK"' in page.text
    answer = dojo.register(client, "newbie", next="/device?user_code=BCDF-GHJK")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/device?user_code=BCDF-GHJK"
    elsewhere = dojo.client()
    answer = dojo.register(elsewhere, "other", next="https://evil.example/")
    assert answer.headers["location"] == "/sockets/"  # never off the dojo


def test_a_class_server_tells_learners_to_log_their_cli_in(
    store: Store, authority: HmacFlagAuthority, clock: Clock
) -> None:
    from web.conftest import Harness

    dojo = Harness(store, authority, clock, public_url="https://dojo.example.org/")
    client, _ = dojo.signed_in("alice")
    page = client.get("/sockets/client/")
    assert "<pre><code>sockdojo run client\n</code></pre>" in page.text  # no --account here
    assert "sockdojo login https://dojo.example.org" in page.text
    for open_client in dojo.clients:
        open_client.close()


def test_the_shared_parts_of_the_module_page_follow_each_viewer_and_each_solve(
    dojo: Harness,
) -> None:
    """The board rows and the chart are rendered once per distinct board (web/fragments.py):
    one viewer's mark never shows on another's page, and a solve shows on the next page."""
    now = dojo.clock.now
    top_client, top = dojo.signed_in("top")
    dojo.solve(top, "client", now - dt.timedelta(hours=2))
    other_client, other = dojo.signed_in("other")
    dojo.solve(other, "client", now - dt.timedelta(hours=1))
    anonymous = dojo.client()
    for _ in range(2):  # the second round from the remembered fragments
        html = top_client.get("/sockets/").text
        assert re.search(r'<tr class="mine">\s*<td class="rank">1</td>', html)
        html = other_client.get("/sockets/").text
        assert re.search(r'<tr class="mine">\s*<td class="rank">2</td>', html)
        html = anonymous.get("/sockets/").text
        assert '<tr class="mine">' not in html
        assert rows_of(html) == [("1", "top", "1"), ("2", "other", "1")]
    dojo.solve(other, "server", now - dt.timedelta(minutes=1))
    html = anonymous.get("/sockets/").text
    assert rows_of(html) == [("1", "other", "2"), ("2", "top", "1")]
    assert 'data-hacker="other"' in html and "(2)</span>" in html  # the chart's legend
