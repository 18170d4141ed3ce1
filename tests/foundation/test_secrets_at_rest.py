"""Sealing secrets at rest: a sealed value hides its secret, names the key that opens it,
keeps opening under a previous key, and fails to open once anything about it changed."""

from __future__ import annotations

import pytest

from neurall.config import Settings
from neurall.secrets_at_rest import Keyring, SecretNotOpened

OLD_KEY = "old-secret-key-" + "o" * 40
NEW_KEY = "new-secret-key-" + "n" * 40
SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ="
ROW = "webhook_endpoint:1"


def test_a_sealed_secret_hides_it_and_opens_to_it() -> None:
    keyring = Keyring(NEW_KEY)
    sealed = keyring.seal(SECRET, ROW)
    assert SECRET.removeprefix("whsec_") not in sealed
    assert sealed.startswith(f"v1:{keyring.current_key_id}:")
    assert keyring.open(sealed, ROW) == SECRET
    assert keyring.seal(SECRET, ROW) != sealed  # a fresh nonce each time


def test_previous_keys_open_and_only_the_current_key_seals() -> None:
    old = Keyring(OLD_KEY).seal(SECRET, ROW)
    rotated = Keyring(NEW_KEY, [OLD_KEY])
    assert not rotated.is_current(old)
    assert rotated.open(old, ROW) == SECRET
    assert rotated.is_current(rotated.seal(SECRET, ROW))
    with pytest.raises(SecretNotOpened, match="neither NEURALL_SECRET_KEY"):
        Keyring(NEW_KEY).open(old, ROW)


def _flip(text: str, at: int) -> str:
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda s: _flip(s, len(s) // 2 + 6), id="a changed byte"),
        pytest.param(lambda s: s[:-4], id="truncated"),
        pytest.param(
            lambda s: s.replace(Keyring(NEW_KEY).current_key_id, Keyring(OLD_KEY).current_key_id),
            id="another key named",
        ),
        pytest.param(lambda s: SECRET, id="not sealed"),
    ],
)
def test_a_tampered_value_does_not_open(tamper) -> None:
    keyring = Keyring(NEW_KEY, [OLD_KEY])
    sealed = keyring.seal(SECRET, ROW)
    with pytest.raises(SecretNotOpened) as raised:
        keyring.open(tamper(sealed), ROW)
    assert SECRET not in str(raised.value)


def test_a_value_copied_into_another_row_does_not_open() -> None:
    keyring = Keyring(NEW_KEY)
    with pytest.raises(SecretNotOpened, match="fails authentication"):
        keyring.open(keyring.seal(SECRET, ROW), "webhook_endpoint:2")


def test_the_keys_come_from_the_settings() -> None:
    settings = Settings(secret_key=NEW_KEY, previous_secret_keys=f" {OLD_KEY} ,, other ")
    assert settings.previous_secret_key_list == [OLD_KEY, "other"]
    keyring = Keyring.from_settings(settings)
    assert keyring.current_key_id == Keyring(NEW_KEY).current_key_id
    assert keyring.open(Keyring(OLD_KEY).seal(SECRET, ROW), ROW) == SECRET
    with pytest.raises(ValueError, match="needs a secret key"):
        Keyring.from_settings(Settings(secret_key=""))
