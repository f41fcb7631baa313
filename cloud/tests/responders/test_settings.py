"""Settings from the environment; placeholder secrets refused outside local mode."""

from __future__ import annotations

import pytest
from kentongan_cloud.responders import ResponderConfigError, ResponderSettings


def test_settings_from_nested_environment_variables() -> None:
    s = ResponderSettings.from_env(
        {
            "KENTONGAN_RESPONDERS__PUBLIC_URL": "https://kentongan.lamtengkab.example.id",
            "KENTONGAN_RESPONDERS__ACK_SECRET": "x" * 40,
            "KENTONGAN_RESPONDERS__LINK_TTL_S": "3600",
            "KENTONGAN_RESPONDERS__WHATSAPP__TOKEN": "EAAG",
            "KENTONGAN_RESPONDERS__WHATSAPP__PHONE_NUMBER_ID": "106540352242922",
            "KENTONGAN_RESPONDERS__WHATSAPP__TEMPLATE": "kentongan_alarm",
            "KENTONGAN_RESPONDERS__MODEM__DEVICE": "/dev/ttyUSB2",
            "KENTONGAN_OTHER": "ignored",
        }
    )
    assert s.link_ttl_s == 3600
    assert s.whatsapp is not None
    assert s.whatsapp.template == "kentongan_alarm"
    assert s.modem is not None
    assert s.modem.device == "/dev/ttyUSB2"
    assert s.sms is None
    assert "EAAG" not in repr(s)  # secrets never show in logs


@pytest.mark.parametrize("secret", ["change-me", "short", ""])
def test_placeholder_secret_is_refused_outside_local_mode(secret: str) -> None:
    env = {
        "KENTONGAN_RESPONDERS__PUBLIC_URL": "https://k.example.id",
        "KENTONGAN_RESPONDERS__ACK_SECRET": secret,
    }
    with pytest.raises(ResponderConfigError, match="KENTONGAN_RESPONDERS__ACK_SECRET"):
        ResponderSettings.from_env(env)
    local = ResponderSettings.from_env(env | {"KENTONGAN_RESPONDERS__LOCAL_MODE": "true"})
    assert local.local_mode


def test_missing_public_url_names_the_variable() -> None:
    with pytest.raises(ResponderConfigError, match="public_url"):
        ResponderSettings.from_env({"KENTONGAN_RESPONDERS__ACK_SECRET": "x" * 40})


def test_a_lease_shorter_than_one_send_is_refused() -> None:
    env = {
        "KENTONGAN_RESPONDERS__PUBLIC_URL": "https://k.example.id",
        "KENTONGAN_RESPONDERS__ACK_SECRET": "x" * 40,
        "KENTONGAN_RESPONDERS__HTTP_TIMEOUT_S": "20",
        "KENTONGAN_RESPONDERS__LEASE_S": "15",
    }
    with pytest.raises(ResponderConfigError, match="lease_s"):
        ResponderSettings.from_env(env)
