"""The key that seals service passwords (crypto.secretbox): from settings, or kept locally.

BUREAU_SECRET_KEY wins. Without it, a key is generated on first use and kept in
`<BUREAU_DATA_DIR>/secret.key` (mode 0600) so every later run seals and opens with the same
key. Losing that file makes sealed passwords unreadable (CHAP/MS-CHAP stop working until
passwords are reset): back it up with the database, or set BUREAU_SECRET_KEY. The key
is never printed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from pathlib import Path

from ..settings import Settings, SettingsError, decode_secret_key
from .secretbox import SecretBox

KEY_FILE = "secret.key"
KEY_ID = 1


def key_path(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def _read(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SettingsError(
            f"{path} is readable by others (mode {mode:04o}); run `chmod 600 {path}` or set BUREAU_SECRET_KEY"
        )
    try:
        return decode_secret_key(path.read_text(encoding="ascii"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SettingsError(
            f"{path} does not hold a key ({exc}); restore it from a backup, or set BUREAU_SECRET_KEY"
        ) from None


def secret_key(settings: Settings) -> bytes:
    """The configured key, else the one in the data folder, created (0600) on first use."""
    if settings.secret_key is not None:
        return decode_secret_key(settings.secret_key.get_secret_value())  # validated by Settings
    path = key_path(settings)
    if path.exists():
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = SecretBox.generate_key()
    # Write a private temporary file, then link it into place: link fails if another
    # process got there first, and nobody ever reads a half-written key.
    temporary = path.with_name(f".{KEY_FILE}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(base64.b64encode(key).decode() + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read(path)
    finally:
        temporary.unlink(missing_ok=True)
    return key


def secret_box(settings: Settings) -> SecretBox:
    return SecretBox(secret_key(settings), key_id=KEY_ID)


def radius_class_key(settings: Settings) -> bytes:
    """The key that signs the RADIUS Class attribute, derived from the secret key (so that
    every RADIUS process of an installation signs and checks alike)."""
    return hmac.new(secret_key(settings), b"bureau radius class v1", hashlib.sha256).digest()
