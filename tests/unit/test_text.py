"""Client text in the text log: escaped so one record is one line that shows what was sent."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from artifortress import logs
from artifortress.text import escape_unprintable


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
