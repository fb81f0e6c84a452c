from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockdojo.export.file_flag import FileFlagAuthority
from sockdojo.flags import FlagAuthority, FlagProblem, HmacFlagAuthority
from sockdojo.flags.authority import DEFAULT_PREFIX, TOKEN_CHARS, clean_submission
from sockdojo.net.protocol import prefix_of

KNOWN = frozenset({1, 2, 3, 4, 5})
SECRET = bytes(range(32))


@pytest.fixture
def authority() -> HmacFlagAuthority:
    return HmacFlagAuthority(SECRET)


def test_minted_flag_checks_for_its_owner_and_challenge(authority: HmacFlagAuthority) -> None:
    flag = authority.mint(7, 3)
    assert flag.startswith("sockdojo{") and flag.endswith("}")
    assert len(flag) == len("sockdojo{}") + TOKEN_CHARS
    result = authority.check(flag, 7, KNOWN)
    assert result.ok and result.challenge_number == 3


def test_flags_differ_per_account_and_challenge(authority: HmacFlagAuthority) -> None:
    flags = {authority.mint(account, challenge) for account in range(20) for challenge in KNOWN}
    assert len(flags) == 100


def test_another_accounts_flag_is_not_yours(authority: HmacFlagAuthority) -> None:
    assert authority.check(authority.mint(8, 1), 7, KNOWN).problem is FlagProblem.NOT_YOURS


def test_flag_for_another_challenge(authority: HmacFlagAuthority) -> None:
    result = authority.check(authority.mint(7, 2), 7, KNOWN, expected_challenge=1)
    assert result.problem is FlagProblem.WRONG_CHALLENGE


def test_flag_for_an_unknown_challenge(authority: HmacFlagAuthority) -> None:
    assert authority.check(authority.mint(7, 99), 7, KNOWN).problem is FlagProblem.UNKNOWN_CHALLENGE


def test_flag_from_another_install_is_told_apart(authority: HmacFlagAuthority) -> None:
    other = HmacFlagAuthority(b"x" * 32)
    assert authority.check(other.mint(7, 1), 7, KNOWN).problem is FlagProblem.OTHER_DOJO


def test_forged_account_field_is_rejected(authority: HmacFlagAuthority) -> None:
    # Take my genuine flag and rewrite the account inside it to claim someone else's solve.
    token = authority.mint(7, 1)[len("sockdojo{") : -1]
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[7] = 8
    forged = "sockdojo{" + base64.urlsafe_b64encode(bytes(raw)).decode() + "}"
    # Refused like a flag signed elsewhere: nothing inside an unsigned flag is believed.
    assert authority.check(forged, 8, KNOWN).problem is FlagProblem.OTHER_DOJO


@given(st.integers(min_value=0, max_value=24 * 8 - 1))
def test_every_single_bit_flip_is_rejected(bit: int) -> None:
    authority = HmacFlagAuthority(SECRET)
    token = authority.mint(7, 1)[len("sockdojo{") : -1]
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[bit // 8] ^= 1 << (bit % 8)
    flipped = "sockdojo{" + base64.urlsafe_b64encode(bytes(raw)).decode() + "}"
    assert not authority.check(flipped, 7, KNOWN).ok


@given(st.text(max_size=80))
def test_arbitrary_text_never_passes_or_crashes(text: str) -> None:
    assert not HmacFlagAuthority(SECRET).check(text, 7, KNOWN).ok


@pytest.mark.parametrize("cut", [10, 20, 40])
def test_truncated_flag_is_recognised(authority: HmacFlagAuthority, cut: int) -> None:
    flag = authority.mint(7, 1)
    assert authority.check(flag[:cut], 7, KNOWN).problem is FlagProblem.TRUNCATED


def test_flag_without_closing_brace_is_truncated(authority: HmacFlagAuthority) -> None:
    assert authority.check(authority.mint(7, 1)[:-1], 7, KNOWN).problem is FlagProblem.TRUNCATED


@pytest.mark.parametrize(
    "wrap",
    ["  {}  ", "{}\n", "'{}'", '"{}"', "b'{}'", "b'{}\\n'", "`{}`", "\t{}\r\n"],
)
def test_pasting_noise_is_stripped(authority: HmacFlagAuthority, wrap: str) -> None:
    flag = authority.mint(7, 1)
    assert authority.check(wrap.format(flag), 7, KNOWN).ok


def test_custom_prefix() -> None:
    authority = HmacFlagAuthority(SECRET, prefix="pwn")
    flag = authority.mint(1, 1)
    assert flag.startswith("pwn{")
    assert authority.check(flag, 1, KNOWN).ok
    assert HmacFlagAuthority(SECRET).check(flag, 1, KNOWN).problem is FlagProblem.NOT_A_FLAG


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        HmacFlagAuthority(b"short")


def test_clean_submission_leaves_flag_text_alone() -> None:
    assert clean_submission("sockdojo{abc}") == "sockdojo{abc}"


def test_the_platforms_file_mints_through_the_same_interface(tmp_path: Path) -> None:
    # The challenges mint with (account, challenge) whoever the authority is; the platform's
    # file already holds this learner's flag for this challenge.
    path = tmp_path / "flag"
    path.write_text("pwn.college{abc}\n")
    minters: list[FlagAuthority] = [HmacFlagAuthority(SECRET), FileFlagAuthority(path)]
    flags = [minter.mint(7, 3) for minter in minters]
    assert flags[1] == "pwn.college{abc}"
    assert [flag.split("{")[0] for flag in flags] == [m.prefix for m in minters]


def test_a_flags_prefix_is_what_comes_before_its_brace() -> None:
    assert prefix_of("pwn.college{abc}") == "pwn.college"
    assert prefix_of(HmacFlagAuthority(SECRET).mint(1, 1)) == DEFAULT_PREFIX
    # No brace: no prefix (a malformed /flag file must not blank a learner's every line).
    assert prefix_of("no braces here") == ""
    assert prefix_of("{abc}") == ""
