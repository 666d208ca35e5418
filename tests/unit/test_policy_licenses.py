"""The license a real package declares, and whether an allow-list permits it.

The PyPI fixtures are the license-bearing headers of real wheels' METADATA as
published on PyPI (other headers left out), parsed with ``packaging`` as the
PyPI plugin does; the npm ones are ``license`` fields of real package.json files.
"""

from __future__ import annotations

from typing import Any

import pytest
from packaging.metadata import parse_email

from artifortress.policy.licenses import (
    CLASSIFIER_SPDX,
    declared_license,
    refused_licenses,
    spdx,
)

# markdown_it_py-4.3.0-py3-none-any.whl: MIT said only by a classifier.
MARKDOWN_IT_PY = """\
Metadata-Version: 2.5
Name: markdown-it-py
Version: 4.3.0
Classifier: Development Status :: 5 - Production/Stable
Classifier: Intended Audience :: Developers
Classifier: License :: OSI Approved :: MIT License
Classifier: Programming Language :: Python :: 3
License-File: LICENSE
License-File: LICENSE.markdown-it
"""
# mdurl-0.1.2-py3-none-any.whl (metadata 2.1, no License field at all).
MDURL = """\
Metadata-Version: 2.1
Name: mdurl
Version: 0.1.2
Classifier: License :: OSI Approved :: MIT License
Classifier: Operating System :: MacOS
Classifier: Typing :: Typed
"""
# requests-2.34.2-py3-none-any.whl: an SPDX id in the legacy License field.
REQUESTS = """\
Metadata-Version: 2.4
Name: requests
Version: 2.34.2
License: Apache-2.0
Classifier: Development Status :: 5 - Production/Stable
Classifier: License :: OSI Approved :: Apache Software License
License-File: LICENSE
License-File: NOTICE
"""
# numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
NUMPY = """\
Metadata-Version: 2.4
Name: numpy
Version: 2.4.6
License-Expression: BSD-3-Clause AND 0BSD AND MIT AND Zlib AND CC0-1.0
License-File: LICENSE.txt
Classifier: Development Status :: 5 - Production/Stable
"""
# cryptography-51.0.1-cp311-abi3-manylinux_2_34_x86_64.whl: a choice of two licenses.
CRYPTOGRAPHY = """\
Metadata-Version: 2.4
Name: cryptography
Version: 51.0.1
Classifier: Topic :: Security :: Cryptography
License-File: LICENSE.APACHE
License-File: LICENSE.BSD
License-Expression: Apache-2.0 OR BSD-3-Clause
"""
# typing_extensions-4.16.0-py3-none-any.whl
TYPING_EXTENSIONS = """\
Metadata-Version: 2.4
Name: typing_extensions
Version: 4.16.0
License-Expression: PSF-2.0
Classifier: Development Status :: 5 - Production/Stable
License-File: LICENSE
"""
# requests-2.31.0-py3-none-any.whl: free text in License, the classifier says which license.
REQUESTS_2_31 = """\
Metadata-Version: 2.1
Name: requests
Version: 2.31.0
License: Apache 2.0
Classifier: License :: OSI Approved :: Apache Software License
License-File: LICENSE
"""

PERMISSIVE = ["MIT", "Apache-2.0", "BSD-3-Clause"]


def pypi(metadata: str) -> dict[str, Any]:
    """The fields the PyPI plugin stores for a version, from METADATA text."""
    raw, unparsed = parse_email(metadata)
    assert not unparsed
    return dict(raw)


def verdict(metadata: dict[str, Any], allowed: list[str]) -> tuple[str, str, list[str]]:
    declared = declared_license(metadata)
    assert declared is not None
    return declared.text, declared.source, refused_licenses(declared, allowed)


@pytest.mark.parametrize(
    ("metadata", "text", "source"),
    [
        (MARKDOWN_IT_PY, "MIT", "classifiers"),
        (MDURL, "MIT", "classifiers"),
        (REQUESTS, "Apache-2.0", "license"),
        (REQUESTS_2_31, "Apache-2.0", "classifiers"),
        (CRYPTOGRAPHY, "Apache-2.0 OR BSD-3-Clause", "License-Expression"),
        (TYPING_EXTENSIONS, "PSF-2.0", "License-Expression"),
    ],
)
def test_real_wheels_declare_the_license_they_mean(metadata, text, source):
    declared = declared_license(pypi(metadata))
    assert declared is not None
    assert (declared.text, declared.source) == (text, source)


def test_mit_only_by_classifier_passes_an_mit_allow_list():
    for metadata in (MARKDOWN_IT_PY, MDURL):
        assert verdict(pypi(metadata), ["MIT"])[2] == []
        assert verdict(pypi(metadata), ["Apache-2.0"])[2] == ["MIT"]


def test_or_needs_one_allowed_choice_and_needs_all():
    assert verdict(pypi(CRYPTOGRAPHY), ["BSD-3-Clause"])[2] == []
    assert verdict(pypi(CRYPTOGRAPHY), ["MIT"])[2] == ["Apache-2.0", "BSD-3-Clause"]
    assert verdict(pypi(NUMPY), PERMISSIVE)[2] == ["0BSD", "Zlib", "CC0-1.0"]
    assert verdict(pypi(NUMPY), [*PERMISSIVE, "0BSD", "Zlib", "CC0-1.0"])[2] == []
    assert verdict({"license_expression": "MIT OR GPL-3.0"}, ["MIT"])[2] == []
    assert verdict({"license_expression": "MIT AND GPL-3.0"}, ["MIT"])[2] == ["GPL-3.0-only"]
    nested = {"license_expression": "MIT AND (Apache-2.0 OR GPL-2.0-only)"}
    assert verdict(nested, PERMISSIVE)[2] == []
    assert verdict(nested, ["MIT", "GPL-3.0-only"])[2] == ["Apache-2.0", "GPL-2.0-only"]


def test_psf_and_case_and_aliases_are_normalized():
    assert verdict(pypi(TYPING_EXTENSIONS), ["psf-2.0"])[2] == []
    assert verdict({"license_expression": "GPL-3.0+"}, ["GPL-3.0-or-later"])[2] == []
    assert verdict({"license_expression": "GPL-3.0-or-later"}, ["gpl-3.0+"])[2] == []


def test_an_exception_is_allowed_with_its_license_or_when_listed_whole():
    declared = {"license_expression": "GPL-2.0-only WITH Classpath-exception-2.0"}
    assert verdict(declared, ["GPL-2.0-only"])[2] == []
    assert verdict(declared, ["GPL-2.0-only WITH Classpath-exception-2.0"])[2] == []
    assert verdict(declared, ["MIT"])[2] == ["GPL-2.0-only WITH Classpath-exception-2.0"]
    llvm = {"license_expression": "Apache-2.0 WITH LLVM-exception"}
    assert verdict(llvm, ["Apache-2.0"])[2] == []


@pytest.mark.parametrize(
    ("license_field", "text"),
    [
        ("MIT", "MIT"),  # most packages
        ("(MIT OR Apache-2.0)", "MIT OR Apache-2.0"),  # the form npm's docs recommend
        ("(MIT AND Zlib)", "MIT AND Zlib"),  # pako 1.x
        ({"type": "MIT", "url": "https://opensource.org/licenses/MIT"}, "MIT"),  # legacy object
        (  # the legacy "licenses" array, a choice, as npm's docs describe it
            [{"type": "AFL-2.1", "url": "x"}, {"type": "BSD-3-Clause", "url": "y"}],
            "AFL-2.1 OR BSD-3-Clause",
        ),
    ],
)
def test_npm_license_fields(license_field, text):
    declared = declared_license({"license": license_field})
    assert declared is not None
    assert (declared.text, declared.source) == (text, "license")


def test_free_text_and_vague_classifiers_are_allowed_only_by_their_own_name():
    assert verdict({"license": "UNLICENSED"}, PERMISSIVE)[2] == ["UNLICENSED"]
    assert verdict({"license": "UNLICENSED"}, ["UNLICENSED"])[2] == []
    assert verdict({"license": "Apache 2.0"}, PERMISSIVE)[2] == ["Apache 2.0"]
    bsd = {"classifiers": ["License :: OSI Approved :: BSD License"]}
    assert verdict(bsd, PERMISSIVE)[2] == ["BSD License"]
    assert verdict(bsd, ["BSD License"])[2] == []
    gpl = {"classifiers": ["License :: OSI Approved :: GNU General Public License (GPL)"]}
    assert verdict(gpl, ["MIT"])[2] == ["GNU General Public License (GPL)"]
    whole_text = {"license": "Copyright (c) 2005, NumPy Developers.\nAll rights reserved.\n"}
    assert verdict(whole_text, PERMISSIVE)[1] == "license"


def test_several_license_classifiers_must_all_be_allowed():
    both = {
        "classifiers": [
            "License :: OSI Approved :: MIT License",
            "License :: OSI Approved :: GNU General Public License v3 (GPLv3)",
            "License :: OSI Approved",
        ]
    }
    assert verdict(both, ["MIT"]) == ("MIT AND GPL-3.0-only", "classifiers", ["GPL-3.0-only"])


def test_nothing_declared():
    assert declared_license({}) is None
    assert declared_license({"license": "  ", "classifiers": ["Typing :: Typed"]}) is None
    assert declared_license(pypi(NUMPY).copy() | {"license_expression": ""}) is None


def test_every_mapped_classifier_is_a_known_spdx_id():
    for spdx_id in CLASSIFIER_SPDX.values():
        assert not spdx().validate(spdx_id).errors, spdx_id
        assert str(spdx().parse(spdx_id)) == spdx_id
