"""The license policy judges real wheels by what their METADATA says, classifiers included."""

from __future__ import annotations

import pytest

from plugins.pypi.tests.pypi_dists import make_wheel
from plugins.pypi.tests.test_pypi_upload_http import form, post

# The license-bearing headers of mdurl-0.1.2-py3-none-any.whl's METADATA on PyPI: MIT is
# said only by a classifier (no License, no License-Expression).
MDURL = b"""\
Metadata-Version: 2.1
Name: mdurl
Version: 0.1.2
Summary: Markdown URL utilities
Classifier: License :: OSI Approved :: MIT License
Classifier: Typing :: Typed

"""
# cryptography-51.0.1's: a choice of two licenses.
CRYPTOGRAPHY = b"""\
Metadata-Version: 2.4
Name: cryptography
Version: 51.0.1
License-Expression: Apache-2.0 OR BSD-3-Clause

"""


@pytest.fixture
def repo(make_repo, admin):
    make_repo("py", format="pypi")
    answer = admin.put("/v1/repos/py/policy", {"allowed_licenses": ["MIT", "BSD-3-Clause"]})
    assert answer.status_code == 200, answer.text


def upload(admin, tmp_path, name: str, version: str, metadata: bytes):
    filename = f"{name}-{version}-py3-none-any.whl"
    wheel = make_wheel(tmp_path, filename, metadata, dist_info=f"{name}-{version}.dist-info")
    return post(admin, *form(wheel.read_bytes(), filename, name=name, version=version))


def test_mit_by_classifier_and_an_or_with_one_allowed_license_publish(admin, repo, tmp_path):
    assert upload(admin, tmp_path, "mdurl", "0.1.2", MDURL).status_code == 200
    assert upload(admin, tmp_path, "cryptography", "51.0.1", CRYPTOGRAPHY).status_code == 200


def test_a_license_outside_the_list_is_refused_with_the_reason(admin, repo, tmp_path):
    gpl = MDURL.replace(b"MIT License", b"GNU General Public License v3 (GPLv3)")
    answer = upload(admin, tmp_path, "mdurl", "0.1.2", gpl)
    assert answer.status_code == 403
    assert "GPL-3.0-only is not in the allowed list" in answer.text
    assert admin.get("/v1/repos/py/packages").json["packages"] == []
