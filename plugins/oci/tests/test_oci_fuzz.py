"""Whatever a client sends under /v2/, the answer is a 4xx in the spec's shape, never a 500."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oci_images import make_image

SEGMENT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=12
).map(lambda s: s.replace("/", "").replace("?", "").replace("#", ""))
TAILS = st.sampled_from(
    ["manifests/", "blobs/", "blobs/uploads/", "tags/list", "referrers/", "", "manifests"]
)
METHODS = st.sampled_from(["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"])
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(method=METHODS, image=SEGMENT, tail=TAILS, reference=SEGMENT, body=st.binary(max_size=64))
def test_any_path_and_method_is_answered_below_500(registry, method, image, tail, reference, body):
    path = f"/v2/containers/{image}/{tail}{reference}"
    answer = registry.request(method, path, body or None, headers={"Content-Range": "0-x"})
    assert answer.status_code < 500, (path, answer.status_code, answer.text[:300])
    if answer.status_code >= 400 and method != "HEAD":
        assert "errors" in json.loads(answer.text)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
KEYS = st.sampled_from(["config", "layers", "manifests", "subject", "mediaType", "schemaVersion"])


@FUZZ
@given(changes=st.dictionaries(KEYS, JSON, max_size=3))
def test_any_manifest_document_is_answered_below_500(registry, changes):
    document = json.loads(make_image().manifest) | changes
    answer = registry.push_manifest("app", "1.0", json.dumps(document).encode())
    assert answer.status_code < 500, (document, answer.text[:300])
