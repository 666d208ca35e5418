"""Does a refused token take as long for an unknown id as for a real id with a wrong secret?

``python -m bench.token_timing [N]``: in-process (falcon's test client on a
throw-away SQLite database, no network noise), ``N`` refused ``GET /v1/whoami``
per kind (400 by default), with the token cache on (the default, one second)
and off. Prints the median milliseconds of each kind; the two columns of a
line should agree to within the machine's noise.  The test suite checks the
same property by counting work (tests/functional/control_plane/test_token_lookup_work.py).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import falcon.testing

from artifortress.app import create_app
from artifortress.auth import tokens
from artifortress.container import Services
from artifortress.db import migrate
from artifortress.db.engine import make_engine
from artifortress.settings import Settings
from artifortress.testing.helpers import ApiFactory


def _median_ms(client: falcon.testing.TestClient, token: str, count: int) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    times = []
    for _ in range(count):
        started = time.perf_counter()
        status = client.simulate_get("/v1/whoami", headers=headers).status_code
        times.append(time.perf_counter() - started)
        assert status == 401, status
    return statistics.median(times) * 1000


def measure(home: Path, cache_seconds: float, count: int) -> tuple[float, float]:
    """Median ms of (real id + wrong secret, unknown id + some secret)."""
    url = f"sqlite:///{home}/timing-{cache_seconds}.db"
    migrate.upgrade(make_engine(url))
    environ = {
        "ARTIFORTRESS_HOME": str(home),
        "ARTIFORTRESS_DATABASE_URL": url,
        "ARTIFORTRESS_TOKEN_CACHE_SECONDS": str(cache_seconds),
    }
    services = Services.build(Settings.load(environ=environ))
    try:
        client = falcon.testing.TestClient(create_app(services))
        key_id, secret = tokens.parse_token(ApiFactory(client, services).token_for("a")) or ("", "")
        wrong_secret = f"{tokens.PREFIX}{key_id}_{'a' * tokens.SECRET_LENGTH}"
        unknown_id = f"{tokens.PREFIX}{'a' * tokens.KEY_ID_LENGTH}_{secret}"
        _median_ms(client, wrong_secret, count // 4)  # warm up
        return _median_ms(client, wrong_secret, count), _median_ms(client, unknown_id, count)
    finally:
        services.close()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    with tempfile.TemporaryDirectory() as home:
        for cache_seconds in (1.0, 0.0):
            wrong, unknown = measure(Path(home), cache_seconds, count)
            print(
                f"token cache {cache_seconds:g}s: wrong secret {wrong:.3f} ms, "
                f"unknown id {unknown:.3f} ms (medians of {count})"
            )


if __name__ == "__main__":
    main()
