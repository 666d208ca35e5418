"""HTTP header parameter parsing: Content-Type and Content-Disposition (RFC 7578, 6266, 8187)."""

from __future__ import annotations

from urllib.parse import unquote


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """Split a Content-Type into its lower-cased media type and its parameters."""
    media_type, params = _parse(value)
    return media_type.lower(), params


def parse_content_disposition(value: str) -> tuple[str, dict[str, str]]:
    """Split a Content-Disposition into its lower-cased type and parameters.

    ``filename*`` (RFC 8187 ``charset'lang'pct-encoded``) wins over ``filename`` and is
    returned under ``filename``. Quoted values have their backslash escapes removed; the
    HTML5 percent-escapes of quote, CR and LF that browsers and urllib3 use are left as is
    (distribution filenames never contain them and the filename check refuses ``%``).
    """
    disposition, params = _parse(value)
    extended = params.pop("filename*", None)
    if extended is not None:
        decoded = _decode_extended(extended)
        if decoded is not None:
            params["filename"] = decoded
    return disposition.lower(), params


def _parse(value: str) -> tuple[str, dict[str, str]]:
    """Parse ``token; name=value; name="quoted"`` into the token and a parameter dict."""
    pieces = _split_semicolons(value)
    params: dict[str, str] = {}
    for piece in pieces[1:]:
        name, equals, raw = piece.partition("=")
        name = name.strip().lower()
        if not equals or not name:
            continue
        params.setdefault(name, _unquote(raw.strip()))
    return pieces[0].strip(), params


def _split_semicolons(value: str) -> list[str]:
    """Split on semicolons that are not inside a quoted string."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    pieces.append("".join(current))
    return pieces


def _unquote(raw: str) -> str:
    """Remove the quotes and backslash escapes of a quoted-string; return tokens unchanged."""
    if len(raw) < 2 or not (raw.startswith('"') and raw.endswith('"')):
        return raw
    inner = raw[1:-1]
    out: list[str] = []
    escaped = False
    for char in inner:
        if escaped or char != "\\":
            out.append(char)
            escaped = False
        else:
            escaped = True
    return "".join(out)


def _decode_extended(value: str) -> str | None:
    """Decode an RFC 8187 ext-value (``UTF-8''na%C3%AFve.whl``); None when malformed."""
    charset, quote, rest = value.partition("'")
    _language, quote2, encoded = rest.partition("'")
    if not quote or not quote2:
        return None
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="strict")
    except (LookupError, UnicodeDecodeError):
        return None
