"""The version of the plugin API and the ranges plugins declare against it.

``API_VERSION`` follows semantic versioning over the names of
``artifortress.plugin.__all__`` and the hooks of ``artifortress.hookspecs``:
a minor bump adds, a major bump removes or changes. A plugin states the range it
was written for as ``ARTIFORTRESS_API = ">=1.0,<2"`` in its entry-point module.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

API_VERSION = "1.5.0"

_COMPARISONS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_CLAUSE = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+){0,2})\s*")


class InvalidApiRange(ValueError):
    """The declared range is not comma-separated ``<op><version>`` clauses."""


def parse_version(text: str) -> tuple[int, int, int]:
    """``"1.2"`` -> ``(1, 2, 0)``: missing parts count as zero, so ``<2`` means ``<2.0.0``."""
    parts = [int(part) for part in text.split(".")]
    major, minor, patch = [*parts, 0, 0][:3]
    return major, minor, patch


API_VERSION_INFO = parse_version(API_VERSION)


def api_range_admits(api_range: str, version: str = API_VERSION) -> bool:
    """Whether *version* satisfies every clause of *api_range* (e.g. ``">=1.0,<2"``)."""
    present = parse_version(version)
    for clause in api_range.split(","):
        match = _CLAUSE.fullmatch(clause)
        if match is None:
            raise InvalidApiRange(
                f"{clause.strip()!r} is not a clause such as '>=1.0' "
                "(use comparisons >=, >, <=, <, ==, != joined by commas)"
            )
        compare = _COMPARISONS[match.group(1)]
        if not compare(present, parse_version(match.group(2))):
            return False
    return True
