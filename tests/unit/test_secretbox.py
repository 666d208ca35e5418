"""Stored secrets: sealed with the configured key or one generated once in HOME."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from artifortress.errors import ConfigurationError
from artifortress.secretbox import KEY_FILE, SecretBox
from artifortress.settings import Settings


def box(home: Path, key: str = "") -> SecretBox:
    return SecretBox(Settings(home=home, secret_key=key))


def test_a_generated_key_file_is_private_and_shared_by_every_process_of_the_home(
    tmp_path: Path,
) -> None:
    sealed = box(tmp_path).seal("s3cret")
    assert "s3cret" not in sealed
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert box(tmp_path).open(sealed) == "s3cret"  # another process, the same file


def test_the_configured_key_wins_and_another_key_cannot_open(tmp_path: Path) -> None:
    key = "0123456789abcdef" * 4
    sealed = box(tmp_path, key).seal("s3cret")
    assert not (tmp_path / KEY_FILE).exists()
    assert box(tmp_path / "elsewhere", key).open(sealed) == "s3cret"
    with pytest.raises(ConfigurationError, match="ARTIFORTRESS_SECRET_KEY"):
        box(tmp_path).open(sealed)
