"""The inventory gauges of ``/metrics``: exact counts, counted at most once per cache period."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from artifortress.web.product_metrics import InventoryGauges
from tests.functional.versions_helpers import release


def samples(exposition: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition.decode())
        for sample in family.samples
    }


def test_counts_by_format_and_stored_bytes(admin, make_repo, services):
    make_repo("files", format="generic")
    make_repo("js", format="npm")
    release(admin, "files", "tool", "1.0", {"tool.tgz": b"a" * 100, "tool.sig": b"s"})
    release(admin, "files", "tool", "1.1", {"tool.tgz": b"b" * 10})
    release(admin, "files", "other", "1.0", {"other.tgz": b"a" * 100})  # same bytes: one blob
    scraped = samples(InventoryGauges(services.sessions)())
    assert scraped[("artifortress_repositories", (("format", "generic"),))] == 1
    assert scraped[("artifortress_repositories", (("format", "npm"),))] == 1
    assert scraped[("artifortress_packages", (("format", "generic"),))] == 2
    assert scraped[("artifortress_published_versions", (("format", "generic"),))] == 3
    assert scraped[("artifortress_stored_blobs", ())] == 3
    assert scraped[("artifortress_stored_bytes", ())] == 111


def test_counts_are_kept_for_the_cache_period(make_repo, services):
    now = [1000.0]
    gauges = InventoryGauges(services.sessions, ttl=30, clock=lambda: now[0])
    make_repo("first")
    assert samples(gauges())[("artifortress_repositories", (("format", "generic"),))] == 1
    make_repo("second")
    now[0] += 29
    assert samples(gauges())[("artifortress_repositories", (("format", "generic"),))] == 1
    now[0] += 1
    assert samples(gauges())[("artifortress_repositories", (("format", "generic"),))] == 2


def test_an_empty_repository_reports_zero_stored(services):
    scraped = samples(InventoryGauges(services.sessions)())
    assert scraped[("artifortress_stored_blobs", ())] == 0
    assert scraped[("artifortress_stored_bytes", ())] == 0
