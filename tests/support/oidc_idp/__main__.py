"""``python -m tests.support.oidc_idp --port 9400 --gateway http://127.0.0.1:8080``.

Runs the tests' local OpenID provider in the foreground for trying sign-in by hand (README,
"Single sign-on"): a client ``artifortress`` (secret ``dev-secret``) whose callback is the
gateway's provider ``local``, and accounts ``alice`` (IdP group ``devs``) and ``bob``; the
login page takes any password.  Prints the issuer, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

from tests.support.oidc_idp import PROVIDER_ENTRY, LocalIdP, gateway_client

DEMO_ACCOUNTS = {
    "alice": {"preferred_username": "alice", "email": "alice@example.com", "groups": ["devs"]},
    "bob": {"preferred_username": "bob", "email": "bob@example.com", "groups": []},
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.oidc_idp")
    parser.add_argument("--port", type=int, default=9400)
    parser.add_argument("--gateway", default="http://127.0.0.1:8080")
    args = parser.parse_args()
    if not PROVIDER_ENTRY.is_file():
        print(f"oidc-provider is not installed at {PROVIDER_ENTRY}: run make test", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="oidc-idp-") as scratch:
        idp = LocalIdP(
            Path(scratch) / "config.json",
            [gateway_client(args.gateway.rstrip("/"))],
            DEMO_ACCOUNTS,
            issuer=f"http://127.0.0.1:{args.port}",
        )
        idp.start()
        print(f"OpenID provider {idp.issuer} (accounts: alice, bob; any password)", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            signal.pause()
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            idp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
