"""The license a package declares, as an SPDX expression, and whether an allow-list permits it.

Packages say their license in several ways, read here in this order:

- ``license_expression``: PEP 639's ``License-Expression`` (an SPDX expression);
- ``license``: the legacy ``License:`` field, or npm's ``license``, when it is an
  SPDX expression; npm's legacy object (``{"type": "MIT"}``) and array
  (``[{"type": "MIT"}, {"type": "Apache-2.0"}]``, a choice between them) forms too;
- ``classifiers``: the trove ``License ::`` classifiers, mapped to SPDX ids
  (``License :: OSI Approved :: MIT License`` is ``MIT``);
- failing all these, the ``license`` text as it stands (``UNLICENSED``,
  ``Apache 2.0``), which an allow-list can only name verbatim.

Expressions are parsed by ``license-expression`` (aliases normalized, so
``GPL-3.0+`` is ``GPL-3.0-or-later``).  ``OR`` needs one allowed operand,
``AND`` all of them; ``L WITH E`` is allowed when ``L`` is (an SPDX exception
only adds permissions) or when the whole ``L WITH E`` is listed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from license_expression import (
    AND,
    OR,
    BaseSymbol,
    ExpressionError,
    LicenseExpression,
    LicenseWithExceptionSymbol,
    Licensing,
    boolean,
    get_spdx_licensing,
)

#: Longer text is a license's full wording (old ``License:`` fields), never an expression.
MAX_EXPRESSION_LENGTH = 500
_CLASSIFIER_PREFIX = "License ::"

#: Trove classifiers, by their last part, that name exactly one SPDX license.  Vague ones
#: (``BSD License``, ``GNU General Public License (GPL)``) are left out: they stay as their
#: own name, which an allow-list must list verbatim, rather than be guessed into a license.
CLASSIFIER_SPDX: dict[str, str] = {
    # "Apache Software License" is what every Apache-2.0 project used before PEP 639.
    "Apache Software License": "Apache-2.0",
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "ISC License (ISCL)": "ISC",
    "Python Software Foundation License": "PSF-2.0",
    "Zero-Clause BSD (0BSD)": "0BSD",
    "The Unlicense (Unlicense)": "Unlicense",
    "zlib/libpng License": "Zlib",
    "PostgreSQL License": "PostgreSQL",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "Blue Oak Model License (BlueOak-1.0.0)": "BlueOak-1.0.0",
    "Universal Permissive License (UPL)": "UPL-1.0",
    "University of Illinois/NCSA Open Source License": "NCSA",
    "CMU License (MIT-CMU)": "MIT-CMU",
    "Historical Permission Notice and Disclaimer (HPND)": "HPND",
    "Mozilla Public License 1.1 (MPL 1.1)": "MPL-1.1",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Eclipse Public License 1.0 (EPL-1.0)": "EPL-1.0",
    "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "Educational Community License, Version 2.0 (ECL-2.0)": "ECL-2.0",
    "European Union Public Licence 1.0 (EUPL 1.0)": "EUPL-1.0",
    "European Union Public Licence 1.1 (EUPL 1.1)": "EUPL-1.1",
    "European Union Public Licence 1.2 (EUPL 1.2)": "EUPL-1.2",
    "Common Development and Distribution License 1.0 (CDDL-1.0)": "CDDL-1.0",
    "CEA CNRS Inria Logiciel Libre License, version 2.1 (CeCILL-2.1)": "CECILL-2.1",
    "GNU Affero General Public License v3": "AGPL-3.0-only",
    "GNU Affero General Public License v3 or later (AGPLv3+)": "AGPL-3.0-or-later",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "MirOS License (MirOS)": "MirOS",
    "Mulan Permissive Software License v2 (MulanPSL-2.0)": "MulanPSL-2.0",
    "NASA Open Source Agreement v1.3 (NASA-1.3)": "NASA-1.3",
    "Open Software License 3.0 (OSL-3.0)": "OSL-3.0",
    "SIL Open Font License 1.1 (OFL-1.1)": "OFL-1.1",
    "Sleepycat License": "Sleepycat",
    "W3C License": "W3C",
    "CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
    "CeCILL-B Free Software License Agreement (CECILL-B)": "CECILL-B",
    "CeCILL-C Free Software License Agreement (CECILL-C)": "CECILL-C",
}
#: Classifiers that say nothing about which license (a category, not a license).
_UNINFORMATIVE_CLASSIFIERS = frozenset({"License :: OSI Approved", "License :: DFSG approved"})


@dataclasses.dataclass(frozen=True)
class DeclaredLicense:
    """A package's license as an expression tree, and the metadata it was read from."""

    expression: LicenseExpression
    source: str

    @property
    def text(self) -> str:
        return str(self.expression)


@functools.cache
def spdx() -> Licensing:
    """The SPDX licensing (ids, aliases, exceptions), loaded once on first use."""
    return get_spdx_licensing()


def declared_license(metadata: Mapping[str, Any]) -> DeclaredLicense | None:
    """The license *metadata* declares (see the module docstring for the order), or ``None``."""
    expression = _text(metadata.get("license_expression"))
    if expression:
        return DeclaredLicense(_parsed_or_verbatim(expression), "License-Expression")
    legacy = metadata.get("license")
    spdx_legacy = _spdx_of_legacy(legacy)
    if spdx_legacy is not None:
        return DeclaredLicense(spdx_legacy, "license")
    classified = _from_classifiers(metadata.get("classifiers"))
    if classified is not None:
        return DeclaredLicense(classified, "classifiers")
    verbatim = _text(legacy.get("type") if isinstance(legacy, Mapping) else legacy)
    return DeclaredLicense(_verbatim(verbatim), "license") if verbatim else None


def refused_licenses(declared: DeclaredLicense, allowed: Iterable[str]) -> list[str]:
    """The licenses of *declared* that keep *allowed* from permitting it (empty: permitted)."""
    permitted = {name for item in allowed for name in (item.casefold(), _normalized(item))}
    if _normalized(declared.text) in permitted:
        return []
    return _refused(declared.expression, permitted)


def _refused(node: LicenseExpression, permitted: set[str]) -> list[str]:
    if isinstance(node, LicenseWithExceptionSymbol):
        whole, base = str(node), node.license_symbol.key
        return [] if {whole.casefold(), base.casefold()} & permitted else [whole]
    if isinstance(node, boolean.Symbol):
        name = str(node.key if isinstance(node, BaseSymbol) else node.obj)
        return [] if name.casefold() in permitted else [name]
    refusals = [_refused(arg, permitted) for arg in node.args]
    if isinstance(node, OR) and not all(refusals):
        return []  # one allowed choice is enough
    return [name for refused in refusals for name in refused]


def _normalized(name: str) -> str:
    """An allow-list entry or a whole declaration compared case-blind, SPDX aliases resolved."""
    return str(_parsed_or_verbatim(name)).casefold()


def _parsed_or_verbatim(text: str) -> LicenseExpression:
    """*text* parsed as an SPDX expression, or kept whole as one opaque name."""
    try:
        parsed = spdx().parse(text, strict=True) if len(text) <= MAX_EXPRESSION_LENGTH else None
    except ExpressionError:
        parsed = None
    return parsed if parsed is not None else _verbatim(text)


def _verbatim(text: str) -> LicenseExpression:
    """Free text as one opaque license name (``Apache 2.0``, ``UNLICENSED``, ``BSD License``).

    A plain boolean symbol, as ``LicenseSymbol`` refuses characters such as parentheses.
    """
    return boolean.Symbol(text)


def _spdx_of_legacy(value: Any) -> LicenseExpression | None:
    """A legacy ``license`` value that is (or lists) SPDX ids, or ``None`` for free text."""
    if isinstance(value, Mapping):
        value = value.get("type")
    if isinstance(value, list):  # npm's old ``licenses`` array: the user picks one
        choices = [_spdx_of_legacy(item) for item in value]
        if not choices or None in choices:
            return None
        return choices[0] if len(choices) == 1 else OR(*choices)
    text = _text(value)
    if not text or len(text) > MAX_EXPRESSION_LENGTH or "\n" in text:
        return None
    if spdx().validate(text, strict=True).errors:
        return None
    return spdx().parse(text, strict=True)


def _from_classifiers(classifiers: Any) -> LicenseExpression | None:
    """The ``License ::`` classifiers as an expression; every one must hold (``AND``).

    Several license classifiers often mean a choice (cryptography once had
    Apache and BSD), but nothing in the metadata says so: requiring them all
    refuses such a package rather than letting one with a copyleft classifier in.
    """
    if not isinstance(classifiers, list):
        return None
    named = [
        str(c)
        for c in classifiers
        if str(c).startswith(_CLASSIFIER_PREFIX) and str(c) not in _UNINFORMATIVE_CLASSIFIERS
    ]
    licenses = [_classifier_license(c) for c in dict.fromkeys(named)]
    if not licenses:
        return None
    return licenses[0] if len(licenses) == 1 else AND(*licenses)


def _classifier_license(classifier: str) -> LicenseExpression:
    """The SPDX id of a classifier, else its last part (``BSD License``) as a name to list."""
    name = classifier.rsplit("::", 1)[-1].strip()
    spdx_id = CLASSIFIER_SPDX.get(name)
    return spdx().parse(spdx_id) if spdx_id else _verbatim(name)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
