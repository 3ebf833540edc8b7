"""Settings of the local runtime, read from the environment."""

import pytest

from infra.local.runtime import Settings, parse_chaos, parse_parameters


def test_defaults_without_environment(monkeypatch):
    for name in ("PORT", "CHAOS", "VISIBILITY_TIMEOUT", "TEMPLATE_PARAMETERS", "INVOKE"):
        monkeypatch.delenv(name, raising=False)

    settings = Settings.from_environment()

    assert settings.port == 3000
    assert settings.chaos == frozenset()
    assert settings.visibility_timeout is None
    assert settings.invoke == "process"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "abc", "PORT must be an integer, got 'abc'"),
        ("CHAOS_CRASH_RATE", "lots", "CHAOS_CRASH_RATE must be a number, got 'lots'"),
        ("CHAOS", "crash,flood", "CHAOS has unknown kinds ['flood']"),
        ("INVOKE", "lambda", "INVOKE must be one of process, container"),
        ("TEMPLATE_PARAMETERS", "PaymentTimeout", "is not Name=value"),
    ],
)
def test_invalid_setting_names_itself(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)

    with pytest.raises(ValueError) as raised:
        Settings.from_environment()

    assert message in str(raised.value)


def test_chaos_kinds_parse_in_any_order():
    assert parse_chaos(" reorder,duplicate ,crash") == {"duplicate", "crash", "reorder"}


def test_template_parameters_parse_pairs():
    assert parse_parameters("PaymentTimeout=60, AlarmEmail=") == {"PaymentTimeout": "60", "AlarmEmail": ""}
