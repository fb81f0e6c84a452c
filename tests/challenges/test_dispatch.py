"""Which machine runs each challenge: the one table both `sockdojo run` and `/challenge/run` use."""

from __future__ import annotations

import pytest

from sockdojo.challenges import dispatch, registry
from sockdojo.challenges.client import ClientChallengeProtocol
from sockdojo.challenges.eight_ball import BANNER, EightBallProtocol
from sockdojo.challenges.server import check_server
from sockdojo.challenges.server_loop import check_server_loop
from sockdojo.errors import InternalError
from sockdojo.net.accept_loop import Peer
from sockdojo.net.protocol import Note, Send

PEER = Peer(1, "127.0.0.1", 50000)


def _of(runs: registry.Runs) -> list[registry.Challenge]:
    return [challenge for challenge in registry.CHALLENGES if challenge.runs is runs]


def test_each_challenge_we_serve_gets_its_own_machine_with_the_flag_prefix() -> None:
    expected = {"client": ClientChallengeProtocol, "eight-ball": EightBallProtocol}
    served = _of(registry.Runs.OUR_SERVER)
    assert {challenge.id for challenge in served} == set(expected)
    for challenge in served:
        factory = dispatch.server_protocol(challenge, "dojo")
        machine = factory(PEER)
        assert type(machine) is expected[challenge.id], challenge.id
        assert isinstance(machine, ClientChallengeProtocol | EightBallProtocol)
        assert machine.flag_prefix == b"dojo"
        assert factory(PEER) is not machine  # each connection its own state


def test_the_machines_greet_as_their_challenges_do() -> None:
    client = dispatch.server_protocol(registry.BY_ID["client"], "sockdojo")(PEER)
    eight_ball = dispatch.server_protocol(registry.BY_ID["eight-ball"], "sockdojo")(PEER)
    assert client.connection_made() == [Note("connected")]
    assert Send(BANNER) in eight_ball.connection_made()


def test_each_learners_server_challenge_gets_its_checker() -> None:
    expected = {"server": check_server, "server-loop": check_server_loop}
    checked = _of(registry.Runs.YOUR_SERVER)
    assert {challenge.id for challenge in checked} == set(expected)
    for challenge in checked:
        assert dispatch.checker(challenge) is expected[challenge.id], challenge.id


@pytest.mark.parametrize("challenge", registry.CHALLENGES, ids=lambda c: c.id)
def test_a_challenge_of_another_kind_has_no_server_or_checker(
    challenge: registry.Challenge,
) -> None:
    if challenge.runs is not registry.Runs.OUR_SERVER:
        with pytest.raises(InternalError, match=f"no server of ours for the {challenge.id} "):
            dispatch.server_protocol(challenge, "sockdojo")
    if challenge.runs is not registry.Runs.YOUR_SERVER:
        with pytest.raises(InternalError, match=f"no checker for the {challenge.id} "):
            dispatch.checker(challenge)


def test_only_the_first_client_challenge_answers_udp() -> None:
    hinted = [challenge.id for challenge in registry.CHALLENGES if dispatch.udp_hint(challenge)]
    assert hinted == ["client"]


def test_the_default_address_is_the_one_the_challenges_name() -> None:
    address = f"{dispatch.DEFAULT_HOST}:{dispatch.DEFAULT_PORT}"
    assert address in registry.BY_ID["client"].summary
    assert address in registry.BY_ID["server"].summary
    assert dispatch.LOWEST_PORT <= dispatch.DEFAULT_PORT <= dispatch.HIGHEST_PORT
