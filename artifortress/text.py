"""Client text: escaped before it reaches a log line, checked before it becomes a name.

A request path, a file name or a form field can carry any character: a
CR/LF forges a second log line (or a second header), a right-to-left
override makes a line read other than it is, a full-width dot reads as
``.`` to a tool that folds compatibility forms.  JSON logs escape such
characters themselves; the text log passes each line through
:func:`escape_unprintable`.  Names that are stored (packages, files) must not
hold them at all: :func:`name_problem` says why one is refused, and names are
stored in NFC, so that two spellings of one name are one name.
"""

from __future__ import annotations

import unicodedata

#: Controls, format characters (bidi overrides, zero-width joiners, BOM), surrogates,
#: line and paragraph separators: invisible, or they change how the text around reads.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
#: What a decoder puts in place of invalid UTF-8.
REPLACEMENT = "\ufffd"
#: Characters that read as ".", "/" or "\\" without being one, besides those NFKC folds
#: into one (full-width dots and slashes, one-dot leaders: see _folds_into_separator):
#: the ideographic full stops, which IDNA maps to ".", and slashes that look the same.
#: A tool that folds or shows them would see a ``..`` or a separator the name has not.
_SEPARATOR_LOOKALIKES = frozenset("\u3002\uff61\u2044\u2215\u29f8\u29f5\u29f9")


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


def nfc(text: str) -> str:
    """*text* in Unicode normalization form C (composed), the one spelling names are stored in."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def name_problem(text: str) -> str | None:
    """Why *text* cannot be (part of) a stored name, or ``None``.

    Refused: invalid UTF-8 (the U+FFFD it decodes to), controls and invisible
    characters (categories Cc, Cf, Cs, Zl, Zp: bidi overrides, zero-width
    spaces), and look-alikes of ``.``, ``/`` and ``\\``.
    """
    for char in text:
        if char == REPLACEMENT:
            return "it is not valid UTF-8 (or holds U+FFFD, the mark of invalid UTF-8)"
        if unicodedata.category(char) in _HIDDEN_CATEGORIES:
            return f"it holds U+{ord(char):04X}, an invisible or control character"
        if char in _SEPARATOR_LOOKALIKES or _folds_into_separator(char):
            return f"it holds U+{ord(char):04X}, which reads as '.', '/' or '\\'"
    return None


def _folds_into_separator(char: str) -> bool:
    """True for compatibility characters NFKC turns into text holding '.', '/' or '\\' (e.g. ⒈)."""
    if char.isascii():
        return False
    folded = unicodedata.normalize("NFKC", char)
    return folded != char and any(separator in folded for separator in "./\\")
