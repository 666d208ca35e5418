"""Client text in the text log: escaped so one record is one line that shows what was sent."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from artifortress import logs
from artifortress.text import escape_unprintable, name_problem, nfc


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("/pypi/py/simple/a\r\nSet-Cookie: x=1/", "/pypi/py/simple/a\\r\\nSet-Cookie: x=1/"),
        ("evil\u202etxt.exe", "evil\\u202etxt.exe"),  # right-to-left override
        ("a\u2028b\u2029c\x85d", "a\\u2028b\\u2029c\\x85d"),  # other line breaks
        ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
        ("\x1b[31mred\x00", "\\x1b[31mred\\x00"),  # terminal escapes, NUL
        ("nbsp\xa0here", "nbsp\\xa0here"),
    ],
)
def test_unprintable_characters_are_escaped(text: str, shown: str) -> None:
    assert escape_unprintable(text) == shown
    assert shown.isprintable()


@pytest.mark.parametrize("text", ["", "plain /path?q=1", "naïve-日本語-файл.txt", "a b\\n"])
def test_printable_text_is_left_alone(text: str) -> None:
    assert escape_unprintable(text) is text


@pytest.fixture
def text_log() -> Iterator[io.StringIO]:
    """The ``artifortress`` loggers writing text into a buffer; restored afterwards."""
    root = logging.getLogger("artifortress")
    access = logging.getLogger("artifortress.access")
    saved = (root.handlers[:], root.level, root.propagate)
    saved_access = (access.handlers[:], access.propagate)
    stream = io.StringIO()
    logs.configure("text", "info", stream=stream)
    yield stream
    root.handlers[:], root.level, root.propagate = saved
    access.handlers[:], access.propagate = saved_access


def lines(stream: io.StringIO) -> list[str]:
    logs.flush()
    return stream.getvalue().splitlines()


def test_a_record_with_a_newline_in_its_arguments_is_one_line(text_log: io.StringIO) -> None:
    forged = "/a\r\n2026-01-01 00:00:00,000 INFO    [-] artifortress.access: forged"
    logging.getLogger("artifortress.access").info("GET %s 404", forged)
    (line,) = lines(text_log)
    assert line.endswith(
        "GET /a\\r\\n2026-01-01 00:00:00,000 INFO    [-] artifortress.access: forged 404"
    )


def test_only_a_records_first_line_starts_at_the_margin(text_log: io.StringIO) -> None:
    try:
        raise RuntimeError("bad\n2026-01-01 00:00:00 INFO forged\u202e")
    except RuntimeError:
        logging.getLogger("artifortress.errors").exception("unhandled error in %s", "GET /x")

    first, *rest = lines(text_log)
    assert first.endswith("unhandled error in GET /x")
    assert rest[0] == "    Traceback (most recent call last):"
    assert all(line.startswith("    ") for line in rest), rest
    assert "    2026-01-01 00:00:00 INFO forged\\u202e" in rest


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("evil\u202etxt.exe", "U+202E"),  # right-to-left override (Cf)
        ("a\u200db", "U+200D"),  # zero-width joiner (Cf)
        ("a\x00b", "U+0000"),  # Cc
        ("a\u2029b", "U+2029"),  # Zp
        ("a\ud800b", "U+D800"),  # a lone surrogate (Cs)
        ("bad\ufffd", "UTF-8"),
        ("\uff0e\uff0e", "U+FF0E"),  # full-width full stop: NFKC folds it into "."
        ("\u2488x", "U+2488"),  # "digit one full stop": NFKC gives "1."
        ("a\u3002b", "U+3002"),  # ideographic full stop: IDNA maps it to "."
        ("a\u2215b", "U+2215"),  # division slash, which looks like "/"
    ],
)
def test_names_with_hidden_or_look_alike_characters_have_a_problem(name: str, why: str) -> None:
    problem = name_problem(name)
    assert problem is not None
    assert why in problem


@pytest.mark.parametrize("name", ["tool", "naïve", "日本語.txt", "файл-1.0", "a b", "ǆ", "™"])
def test_ordinary_names_have_none(name: str) -> None:
    assert name_problem(name) is None


def test_names_are_stored_composed() -> None:
    assert nfc("cafe\u0301") == "caf\u00e9"
    composed = "caf\u00e9"
    assert nfc(composed) is composed
