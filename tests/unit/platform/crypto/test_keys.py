"""The password-sealing key: BUREAU_SECRET_KEY, else a private file made once and reused."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from bureau.platform.crypto.keys import key_path, secret_box, secret_key
from bureau.platform.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("BUREAU_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BUREAU_DATA_DIR", str(tmp_path / "data"))


def test_without_a_setting_a_key_is_created_with_mode_0600_and_reused() -> None:
    settings = load_settings()
    first = secret_key(settings)
    path = key_path(settings)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert base64.b64decode(path.read_text()) == first
    assert secret_key(load_settings()) == first
    sealed = secret_box(settings).encrypt(b"pw", b"ctx")
    assert secret_box(load_settings()).decrypt(sealed, b"ctx") == b"pw"


def test_the_setting_wins_over_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    secret_key(load_settings())
    chosen = bytes(range(32))
    monkeypatch.setenv("BUREAU_SECRET_KEY", base64.b64encode(chosen).decode())
    assert secret_key(load_settings()) == chosen


@pytest.mark.parametrize(
    ("value", "why"), [("not base64!", "not base64"), (base64.b64encode(b"x" * 16).decode(), "16 bytes, not 32")]
)
def test_a_bad_key_is_refused_with_a_message_that_does_not_echo_it(
    monkeypatch: pytest.MonkeyPatch, value: str, why: str
) -> None:
    monkeypatch.setenv("BUREAU_SECRET_KEY", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("BUREAU_SECRET_KEY=(hidden)") and why in message
    assert value not in message


def test_a_key_file_readable_by_others_or_damaged_is_refused() -> None:
    settings = load_settings()
    secret_key(settings)
    path = key_path(settings)
    path.chmod(0o644)
    with pytest.raises(SettingsError, match="chmod 600"):
        secret_key(settings)
    path.chmod(0o600)
    path.write_text("garbage\n")
    with pytest.raises(SettingsError, match="does not hold a key"):
        secret_key(settings)
