"""Every error code the code can return is listed in docs/errors.md."""

from __future__ import annotations

import re

from infra.local.runtime import ROOT

# Codes passed to the domain errors, set as a class's `code`, or passed as `code=`.
_RAISED = re.compile(r'(?:InvalidRequest|NotFound|Conflict|Unauthorized|Forbidden)\(\s*"([A-Z][A-Z_]+)"|\bcode\s*=\s*"([A-Z][A-Z_]+)"')


def raised_codes() -> set[str]:
    codes = set()
    for folder in ("shared", "functions"):
        for path in (ROOT / folder).rglob("*.py"):
            for match in _RAISED.finditer(path.read_text()):
                codes.add(match.group(1) or match.group(2))
    return codes - {"DOMAIN_ERROR"}


def test_every_raised_code_is_documented():
    documented = set(re.findall(r"\| `([A-Z_]+)` \|", (ROOT / "docs" / "errors.md").read_text()))

    missing = raised_codes() - documented

    assert not missing, f"add these codes to docs/errors.md: {sorted(missing)}"


def test_scan_finds_codes():
    assert {"ORDER_NOT_FOUND", "INVALID_CURSOR", "CUSTOMER_MISMATCH", "PAYLOAD_TOO_LARGE"} <= raised_codes()
