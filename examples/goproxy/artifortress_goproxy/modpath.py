"""Module paths: the case-escaping of URLs and the checks the go command makes on paths.

The rules follow ``golang.org/x/mod/module`` (``CheckPath``, ``CheckFilePath``,
``EscapePath``, ``SplitPathVersion``, ``CheckPathMajor``). Go module paths are
case-sensitive, but URLs and file systems may not be: in a GOPROXY URL every
uppercase letter travels as ``!`` and its lowercase (``github.com/!azure``).
"""

from __future__ import annotations

import posixpath
import re

from artifortress_goproxy.errors import GoProxyError
from artifortress_goproxy.semver import Version

#: The core stores package names of up to 255 characters.
MAX_PATH = 255
_MODULE_ELEMENT = re.compile(r"[A-Za-z0-9._~-]+")
_HOST = re.compile(r"[a-z0-9.-]+")
_FILE_PUNCTUATION = frozenset("!#$%&()+,-.=@[]^_{}~ ")
_MAJOR_SUFFIX = re.compile(r".+/(v[0-9.]+)")
_GOPKG_IN = re.compile(r"gopkg\.in/.+\.(v[0-9]+)(?:-unstable)?")
_WINDOWS_RESERVED = frozenset(
    [
        "CON",
        "PRN",
        "AUX",
        "NUL",
        *(f"COM{n}" for n in range(1, 10)),
        *(f"LPT{n}" for n in range(1, 10)),
    ]
)


def escape(text: str) -> str:
    """``!`` and the lowercase letter for every uppercase letter."""
    return "".join(f"!{char.lower()}" if "A" <= char <= "Z" else char for char in text)


def unescape(text: str, what: str = "module path") -> str:
    """The inverse of :func:`escape`; 400 for text no escaping produces."""
    chars: list[str] = []
    bang = False
    for char in text:
        if bang and not "a" <= char <= "z":
            raise GoProxyError(
                f"invalid escaped {what} {text!r}: '!' must precede a lowercase letter"
            )
        if "A" <= char <= "Z" or not char.isascii():
            raise GoProxyError(
                f"invalid escaped {what} {text!r}: ASCII only, with '!x' for uppercase X"
            )
        if char == "!" and not bang:
            bang = True
            continue
        chars.append(char.upper() if bang else char)
        bang = False
    if bang:
        raise GoProxyError(f"invalid escaped {what} {text!r}: it ends in '!'")
    return "".join(chars)


def check_path(path: str) -> str:
    """*path* if the go command accepts it as a module path; 400 with the reason otherwise."""
    if not path or len(path) > MAX_PATH:
        raise GoProxyError(f"module path {path!r} must have 1 to {MAX_PATH} characters")
    elements = path.split("/")
    for element in elements:
        if not _MODULE_ELEMENT.fullmatch(element) or element.startswith("."):
            raise GoProxyError(
                f"module path {path!r}: element {element!r} must be letters, digits, '-', '.', "
                "'_' or '~', and not start with '.'"
            )
        _check_element(element, path)
    host = elements[0]
    if "." not in host or host.startswith("-") or not _HOST.fullmatch(host):
        raise GoProxyError(
            f"module path {path!r}: the first element must be a lowercase domain name with a dot"
        )
    required_major(path)  # refuses /v0, /v1 and /v02 suffixes
    return path


def check_file_path(name: str) -> None:
    """A file name of a module zip (relative to ``module@version/``): clean and portable."""
    if posixpath.normpath(name) != name or name.startswith("/"):
        raise GoProxyError(f"file {name!r} in the module zip: its path is not clean")
    for element in name.split("/"):
        if any(not (char.isalnum() or char in _FILE_PUNCTUATION) for char in element):
            raise GoProxyError(f"file {name!r} in the module zip: a character is not allowed")
        _check_element(element, name)


def _check_element(element: str, whole: str) -> None:
    short = element.partition(".")[0]
    if element.endswith(".") or short.upper() in _WINDOWS_RESERVED:
        raise GoProxyError(f"{whole!r}: element {element!r} is not portable")
    _, tilde, after = short.rpartition("~")
    if tilde and after.isdigit():  # a Windows short name such as PROGRA~1
        raise GoProxyError(f"{whole!r}: element {element!r} ends in '~' and digits")


def required_major(path: str) -> str:
    """The major version the path's suffix requires (``v2`` for ``.../v2``), or ``""``."""
    gopkg = _GOPKG_IN.fullmatch(path)
    if gopkg is not None:
        return gopkg.group(1)
    suffix = _MAJOR_SUFFIX.fullmatch(path)
    if suffix is None:
        return ""
    major = suffix.group(1)
    if not re.fullmatch(r"v[1-9][0-9]*", major) or major == "v1":
        raise GoProxyError(f"module path {path!r}: a major version suffix is /v2, /v3, ...")
    return major


def check_major(path: str, version: Version) -> None:
    """The version's major matches the path (v0/v1 without a suffix, vN with /vN)."""
    required = required_major(path)
    major = f"v{version.major}"
    if version.incompatible:
        if required or version.major < 2:
            raise GoProxyError(
                f"{version.text}: +incompatible is only for v2+ of a path without a /vN suffix"
            )
    elif required and major != required:
        raise GoProxyError(f"version {version.text} does not match {path!r} (needs {required})")
    elif not required and version.major >= 2:
        raise GoProxyError(
            f"version {version.text} of {path!r}: a {major} module path ends in /{major}"
        )
