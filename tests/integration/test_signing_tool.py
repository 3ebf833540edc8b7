"""`make sign-webhook` (python -m infra.ops.signing) against the secrets in moto."""

from __future__ import annotations

import os

from infra.ops.signing import main
from shared.signatures import verify
from tests.integration.signing import secret_of

BODY = '{"type": "PICKED_UP", "at": "2026-12-05T10:00:00Z"}'


def stack_name(deployment) -> str:
    return deployment.table_names["OrdersTable"].removesuffix("-OrdersTable")


def test_prints_header_for_body(deployment, capsys):
    exit_code = main(["carrier", BODY, "--stack-name", stack_name(deployment), "--endpoint-url", os.environ["AWS_ENDPOINT_URL"]])

    header = capsys.readouterr().out.strip()
    assert exit_code == 0
    assert verify(header, BODY.encode(), secret_of(deployment, "CarrierWebhookSecret")) > 0


def test_reads_body_from_environment(deployment, capsys, monkeypatch):
    monkeypatch.setenv("BODY", BODY)

    exit_code = main(["payment", "--stack-name", stack_name(deployment), "--endpoint-url", os.environ["AWS_ENDPOINT_URL"]])

    assert exit_code == 0
    assert verify(capsys.readouterr().out.strip(), BODY.encode(), secret_of(deployment, "PaymentWebhookSecret")) > 0


def test_unknown_stack_exits_2(deployment, capsys):
    exit_code = main(["carrier", BODY, "--stack-name", "no-such-stack", "--endpoint-url", os.environ["AWS_ENDPOINT_URL"]])

    assert exit_code == 2
    assert "could not read the carrier webhook secret of stack 'no-such-stack'" in capsys.readouterr().err


def test_missing_body_exits_2(capsys, monkeypatch):
    monkeypatch.delenv("BODY", raising=False)

    assert main(["carrier"]) == 2
    assert "no body to sign" in capsys.readouterr().err
