"""The static analysis: the corpus table, exact places, texts, and hostile input."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from challenges.reuse_address.corpus_cases import CASES, CORPUS, Case
from sockdojo.challenges.reuse_address.analysis import MAX_SOURCE_BYTES, Analysis, analyze
from sockdojo.mistakes import field_names
from sockdojo.mistakes.findings import FINDINGS as CATALOGUE


def analysed(name: str) -> Analysis:
    return analyze((CORPUS / name).read_bytes())


def test_the_corpus_is_complete() -> None:
    files = {p.name for p in CORPUS.iterdir() if not p.name.startswith(".")}
    files -= {"expectations.toml", "ruff.toml"}
    listed = [case["file"] for case in CASES]
    assert len(listed) == len(set(listed)) >= 30
    assert files == set(listed), "every corpus file has exactly one expectation"


@pytest.mark.parametrize("case", CASES, ids=[case["file"] for case in CASES])
def test_corpus_verdict_and_codes(case: Case) -> None:
    result = analysed(str(case["file"]))
    assert sorted(set(result.codes)) == sorted(case["codes"])
    assert result.passed is (case["verdict"] == "pass")


def test_every_catalogue_code_is_exercised() -> None:
    seen = {code for case in CASES for code in case["codes"]}
    seen.add("file-too-large")  # generated below: a file that big does not belong in git
    assert seen == set(CATALOGUE)


def test_texts_are_complete_for_every_corpus_finding() -> None:
    for case in CASES:
        for item in analysed(str(case["file"])).findings:
            for text in (item.explanation, item.fix):
                assert text.strip(), (case["file"], item.code)
                assert "?" not in text.replace("?)", ""), (case["file"], item.code, text)
                assert "{" not in text or "`" in text, (case["file"], item.code, text)


def test_catalogue_templates_name_only_plain_fields() -> None:
    for code, entry in CATALOGUE.items():
        for template in (entry.saw, entry.why, entry.next_step):
            assert all(name.isidentifier() for name in field_names(template)), code
        assert entry.severity in ("error", "note")


# -- exact places -------------------------------------------------------------------------------


def only(result: Analysis, code: str) -> tuple[int | None, int | None]:
    matching = [f for f in result.findings if f.code == code]
    assert len(matching) == 1, result.codes
    return matching[0].line, matching[0].column


def test_option_after_bind_points_at_the_late_call_and_names_the_bind() -> None:
    result = analysed("after_bind.py")
    assert only(result, "option-after-bind") == (5, 1)
    assert "line 4" in result.findings[0].explanation
    assert result.findings[0].source == ("s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)")


def test_order_is_execution_order_not_line_order() -> None:
    # The helper's setsockopt is on line 5, above bind() on line 10, but runs after it.
    result = analysed("after_bind_in_helper.py")
    assert only(result, "option-after-bind") == (5, 5)
    assert "line 10" in result.findings[0].explanation


def test_syntax_error_has_line_and_caret() -> None:
    result = analysed("syntax_error.py")
    finding = result.findings[0]
    assert (finding.line, finding.caret) == (5, 7)
    assert finding.source == 's.bind(("127.0.0.1", 1337)'
    assert "never closed" in finding.explanation
    assert not result.runnable


def test_tabs_and_spaces_are_explained() -> None:
    finding = analysed("tab_space_mix.py").findings[0]
    assert finding.line == 5
    assert "tabs" in finding.explanation


def test_comment_and_string_findings_point_at_the_text() -> None:
    assert only(analysed("comment_only.py"), "only-in-comment") == (4, 1)
    assert only(analysed("string_only.py"), "only-in-string") == (1, 1)


def test_columns_count_characters_not_bytes() -> None:
    source = 'import socket\ncafé = "☕"; s = socket.socket(); s.bind(("", 1337)); s.listen()\n'
    result = analyze((source + "s.accept()\n").encode())
    line, column = only(result, "option-missing")
    assert line == 2
    assert column == source.splitlines()[1].index("s.bind") + 1


def test_wrong_level_explains_what_the_number_means_there() -> None:
    text = analysed("wrong_level_tcp.py").findings[0].explanation
    assert "IPPROTO_TCP" in text
    assert "TCP_MAXSEG" in text


def test_option_on_the_accepted_connection_says_so() -> None:
    text = analysed("on_connection.py").findings[0].explanation
    assert "`conn`" in text
    assert "accept()" in text


def test_libraries_pass_with_a_note_on_what_they_do_underneath() -> None:
    for name in ("ok_create_server.py", "ok_socketserver_class_attr.py", "ok_asyncio.py"):
        notes = [f for f in analysed(name).findings if f.severity == "note"]
        assert notes
        assert "setsockopt" in notes[0].explanation


def test_asyncio_default_counts_on_linux() -> None:
    source = b"""import asyncio
async def main():
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 1337)
    await server.serve_forever()
asyncio.run(main())
"""
    assert analyze(source).passed


@pytest.mark.parametrize(
    "source",
    [
        # on, then off again before bind: off wins
        "import socket\ns = socket.socket()\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)\n"
        "s.bind(('', 1337)); s.listen(); s.accept()\n",
        # an unrelated option only
        "import socket\ns = socket.socket()\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)\n"
        "s.bind(('', 1337)); s.listen(); s.accept()\n",
        # TCP_MAXSEG's number at SOL_SOCKET is not an SO_REUSEADDR spelled differently
        "import socket\ns = socket.socket()\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.TCP_MAXSEG, 1)\n"
        "s.bind(('', 1337)); s.listen(); s.accept()\n",
        # `if False:` never runs
        "import socket\ns = socket.socket()\nif False:\n"
        "    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind(('', 1337)); s.listen(); s.accept()\n",
    ],
    ids=["on-then-off", "other-option", "foreign-name", "dead-branch"],
)
def test_lookalikes_do_not_pass(source: str) -> None:
    assert not analyze(source.encode()).passed


def test_other_options_are_named_when_reuseaddr_is_missing() -> None:
    source = (
        b"import socket\ns = socket.socket()\n"
        b"s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)\n"
        b"s.bind(('', 1337)); s.listen(); s.accept()\n"
    )
    finding = analyze(source).findings[0]
    assert finding.code == "option-missing"
    assert "SO_KEEPALIVE" in finding.explanation


def test_struct_packed_value_and_bool_call_count_as_on() -> None:
    source = (
        b"import socket, struct\ns = socket.socket()\n"
        b"s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, struct.pack('i', 1))\n"
        b"t = socket.socket()\n"
        b"t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, bool(1))\n"
        b"for x in (s, t):\n    pass\n"
        b"s.bind(('', 1337)); s.listen(); s.accept()\n"
        b"t.bind(('', 1338)); t.listen(); t.accept()\n"
    )
    assert analyze(source).passed


# -- hostile input: never crash, never hang ---------------------------------------------------


def generated(kind: str) -> bytes:
    if kind == "huge":
        return b"# padding\n" * (MAX_SOURCE_BYTES // 10 + 10)
    if kind == "deep-expression":
        return b"x = " + b"1 + " * 60_000 + b"1\n"
    if kind == "deep-parentheses":
        return b"x = " + b"(" * 5_000 + b")" * 5_000 + b"\n"
    if kind == "deep-blocks":
        return b"".join(b" " * i + b"if x:\n" for i in range(150)) + b" " * 150 + b"pass\n"
    if kind == "call-explosion":
        # f0 calls f1 twice, f1 calls f2 twice, ...: 2**30 inlined calls if nothing stopped it.
        defs = [f"def f{i}(s):\n    f{i + 1}(s)\n    f{i + 1}(s)\n" for i in range(30)]
        return ("\n".join(defs) + "def f30(s):\n    s.bind(('', 1337))\nf0(1)\n").encode()
    if kind == "diamond-bases":
        # Each class lists the one before six times: 6**12 paths up from A12, one class each.
        classes = ["class A0: pass\n"]
        classes += [f"class A{i}({', '.join([f'A{i - 1}'] * 6)}): pass\n" for i in range(1, 13)]
        return ("".join(classes) + "x = A12()\nfor i in (1, 2, 3, 4): x.a\n").encode()
    if kind == "recursion":
        return b"def f(s):\n    return f(s)\nf(1)\n"
    if kind == "big-numbers":
        return b"import socket\ns=socket.socket()\ns.setsockopt(2**10**10, 'a'*10**10, 9**9**9)\n"
    if kind == "nul-bytes":
        return b"import socket\x00\n"
    if kind == "bad-cookie":
        return b"# -*- coding: no-such-codec -*-\nimport socket\n"
    raise AssertionError(kind)


HOSTILE = {
    "huge": {"file-too-large"},
    "deep-expression": {"cannot-follow"},
    "deep-parentheses": {"syntax-error"},
    "deep-blocks": {"syntax-error"},
    "call-explosion": {"cannot-follow"},
    "diamond-bases": {"not-a-server"},
    "recursion": {"not-a-server"},
    "big-numbers": {"not-a-server"},
    "nul-bytes": {"file-not-text"},
    "bad-cookie": {"file-not-text"},
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_sources_are_judged_quickly(kind: str) -> None:
    data = generated(kind)
    start = time.monotonic()
    result = analyze(data, too_large=len(data) > MAX_SOURCE_BYTES)
    assert time.monotonic() - start < 5.0
    assert set(result.codes) == HOSTILE[kind]
    assert not result.passed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    result = analyze(data)
    assert not result.passed
    assert result.internal_error is None  # a cannot-follow of ours would hide a bug


CORPUS_TEXTS = [(CORPUS / c["file"]).read_bytes() for c in CASES if c["verdict"] == "pass"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CORPUS_TEXTS), st.integers(0, 10_000), st.integers(1, 40))
def test_mangled_servers_never_crash(source: bytes, at: int, length: int) -> None:
    # Cut a piece out of a correct server: whatever is left, the analysis answers.
    at %= max(len(source), 1)
    result = analyze(source[:at] + source[at + length :])
    assert result.internal_error is None, result.internal_error
