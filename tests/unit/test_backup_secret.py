"""`artifortress backup` takes the generated secret along: a restored home reads its passwords."""

from __future__ import annotations

import stat
from pathlib import Path

from artifortress.db import backup, migrate
from artifortress.db.engine import make_engine
from artifortress.secretbox import KEY_FILE, SecretBox
from artifortress.settings import Settings


def home_with_database(home: Path, secret_key: str = "") -> Settings:
    settings = Settings(home=home, secret_key=secret_key).with_defaults()
    home.mkdir()
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    engine.dispose()
    return settings


def test_the_generated_secret_goes_into_the_backup(tmp_path: Path) -> None:
    settings = home_with_database(tmp_path / "home")
    sealed = SecretBox(settings).seal("upstream-password")
    backup.run(settings, tmp_path / "copy", blobs=False)
    copied = tmp_path / "copy" / KEY_FILE
    assert stat.S_IMODE(copied.stat().st_mode) == 0o600
    assert SecretBox(Settings(home=tmp_path / "copy")).open(sealed) == "upstream-password"


def test_a_configured_secret_is_not_written_anywhere(tmp_path: Path) -> None:
    settings = home_with_database(tmp_path / "home", secret_key="from-the-environment")
    SecretBox(settings).seal("upstream-password")
    backup.run(settings, tmp_path / "copy", blobs=False)
    assert not (tmp_path / "copy" / KEY_FILE).exists()
