"""Client text made safe to show in a log line.

A request path, a file name or a form field can carry any character: a
CR/LF forges a second log line (or a second header), a right-to-left
override makes a line read other than it is.  JSON logs escape such
characters themselves; the text log passes each line through here.
"""

from __future__ import annotations


def escape_unprintable(text: str) -> str:
    """*text* with each unprintable character written as its Python escape (``\\n``, ``\\u202e``).

    Unprintable means what :meth:`str.isprintable` says: controls, format
    characters (bidi overrides, zero-width joiners), line and paragraph
    separators and every space but ``' '``.  So one log line stays one line,
    and shows what the client sent.
    """
    if text.isprintable():  # nearly always: no copy
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
