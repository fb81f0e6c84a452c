"""The logged-in CLI's client (`cli/remote.py`) against the real server in this process: it
reads submissions' outcomes and sends run reports in the API's shapes (`api_shapes`), and
says what came when a server answers what no class server of this version would."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from class_mode.harness import ClassHarness
from sockdojo import __version__
from sockdojo.api_shapes import DIAGNOSES_LIMIT
from sockdojo.cli.credentials import Login
from sockdojo.cli.remote import ClassServer, RemoteOutcome, RunReporter, ServerUnreachable
from sockdojo.storage.models import Account, RunReport
from sockdojo.verdict import Verdict

URL = "http://testserver"


def _server(class_dojo: ClassHarness, name: str = "ada") -> tuple[ClassServer, Account]:
    """The CLI's client for `name`, logged in with a token of theirs, and their account."""
    browser, account = class_dojo.signed_in(name)
    token = class_dojo.token(browser)
    client = class_dojo.client()
    client.headers.update(class_dojo.bearer(token))
    return ClassServer(Login(URL, token), _client=client), account


def test_the_cli_reads_every_outcome_the_server_answers(class_dojo: ClassHarness) -> None:
    server, ada = _server(class_dojo)
    _, bob = class_dojo.signed_in("bob")
    stolen = server.submit(class_dojo.flag(bob, "server"))
    assert (stolen.verdict, stolen.challenge_id, stolen.correct) == (Verdict.NOT_YOURS, None, False)
    assert stolen.message.startswith("This flag is not yours")
    ada_flag = class_dojo.flag(ada, "server")
    solved = server.submit(ada_flag)
    assert (solved.verdict, solved.challenge_id, solved.correct) == (
        Verdict.SOLVED,
        "server",
        True,
    )
    assert solved.message.startswith("Correct! ")
    assert server.submit(ada_flag).verdict is Verdict.ALREADY_SOLVED
    for number in range(9):
        class_dojo.clock.advance(seconds=1)
        assert server.submit(f"sockdojo{{guess{number}}}").verdict is Verdict.NOT_A_FLAG
    # Over the limit, the server answers a 429 (`SlowDown`); the CLI tells its words.
    refused = server.submit("sockdojo{one-more}")
    assert refused.verdict is Verdict.RATE_LIMITED and refused.challenge_id is None
    assert "wait" in refused.message and not refused.correct


def _answering(status: int, body: object) -> ClassServer:
    """A client whose server answers every request with `body`: answers no class server of
    this version gives (a newer one's verdict, a broken one's object)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    client = httpx.Client(base_url=URL, transport=httpx.MockTransport(handler))
    return ClassServer(Login(URL, "sdj_token"), _client=client)


JUDGED = {"correct": False, "verdict": "not_a_flag", "challenge": None, "message": "No."}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {**JUDGED, "verdict": "too_late"},
            r"a verdict this sockdojo does not know \('too_late'\)",
        ),
        ({**JUDGED, "verdict": 5}, r"a verdict this sockdojo does not know \(5\)"),
        ({**JUDGED, "verdict": "too_late", "message": 1}, r"does not know \('too_late'\)"),
        (
            {"correct": False, "verdict": "not_a_flag", "challenge": None},
            r"outcome this sockdojo cannot read \(Object missing required field `message`\)",
        ),
        ({**JUDGED, "challenge": 7}, r"cannot read \(Expected `str \| null`, got `int`"),
    ],
)
def test_an_outcome_the_cli_cannot_read_says_what_came(body: object, error: str) -> None:
    with pytest.raises(ServerUnreachable, match=error) as raised:
        _answering(200, body).submit("sockdojo{x}")
    assert raised.value.message.endswith("update it with pip install -U sockdojo")


def test_a_newer_servers_extra_fields_are_ignored() -> None:
    body = {**JUDGED, "verdict": "solved", "correct": True, "challenge": "client", "points": 1}
    assert _answering(200, body).submit("sockdojo{x}") == RemoteOutcome(
        Verdict.SOLVED, "client", "No."
    )
    refused = _answering(429, {"error": "Slow down: wait 5 seconds.", "retry_after": 5})
    assert refused.submit("sockdojo{x}") == RemoteOutcome(
        Verdict.RATE_LIMITED, None, "Slow down: wait 5 seconds."
    )


# The report's own timeout, which the in-process transport cannot apply.
@pytest.mark.filterwarnings("ignore:You should not use the 'timeout' argument")
def test_a_run_report_is_sent_in_the_servers_shape(class_dojo: ClassHarness) -> None:
    server, ada = _server(class_dojo)
    reporter = RunReporter(server, "server", "run-1")
    reporter.diagnoses.extend(["nothing-listening"] + ["udp-server"] * DIAGNOSES_LIMIT)
    reporter.finish(1)
    reporter.wait()
    # The server stored it, so it read it as a `RunReport`: the first DIAGNOSES_LIMIT codes.
    with class_dojo.store.session() as session:
        stored = session.scalars(select(RunReport)).one()
        assert (stored.account_id, stored.challenge_id, stored.passed) == (
            ada.id,
            "server",
            False,
        )
        assert stored.diagnoses == " ".join(["nothing-listening"] + ["udp-server"] * 19)
        assert (stored.version, stored.run_key) == (__version__, "run-1")
        assert 0 <= stored.duration_ms < 60_000
