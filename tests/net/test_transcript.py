"""The transcript every run prints: flags masked, a peer's bytes always escaped."""

from __future__ import annotations

from sockdojo.net.protocol import hide_flags, preview
from sockdojo.net.transcript import Transcript, escaped

FLAG = b"sockdojo{AQACAAAAAAHGYDct1elHym7VPcHnNdFE}\n"


def test_the_flag_handed_to_the_learner_is_masked_with_its_size() -> None:
    transcript = Transcript(secrets=(FLAG,))
    transcript.sent(FLAG)
    assert transcript.lines == [
        f"  -> sent     b'<your flag>\\n' (12 bytes) [{len(FLAG)} bytes on the wire]"
    ]


def test_any_other_flag_of_this_dojo_is_hidden_too() -> None:
    transcript = Transcript(flag_prefix="sockdojo")
    transcript.received(b"here: sockdojo{AQAFAAAAAAELL3y-Mzf-sFKDiaEGGjiB}\n")
    assert "sockdojo{" not in transcript.lines[0]
    assert "<a flag>" in transcript.lines[0]
    assert hide_flags(b"xsockdojo{cut", b"sockdojo") == b"x<a flag>"
    assert hide_flags(b"other{abc}", b"sockdojo") == b"other{abc}"


def test_control_characters_never_reach_the_terminal() -> None:
    transcript = Transcript()
    transcript.received(b"\x1b[2J\x1b]0;title\x07\r\n")
    transcript.event("peer said \x1b[31mred\x1b[0m")
    for line in transcript.lines:
        assert all(c.isprintable() for c in line), line
    assert "\\x1b[2J" in transcript.lines[0]
    assert escaped("tab\tok") == "tab\tok"


def test_preview_counts_the_real_bytes() -> None:
    assert preview(b"x" * 100).endswith("… (100 bytes)")
    assert preview(b"a") == "b'a' (1 byte)"
