"""The operator commands: `bx org`, `bx key`, `bx usage`, `bx webhook` on the default store in BX_HOME."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone

import pytest

from bx_platform.cli import main
from bx_platform.control import admit_submission, authenticate, open_engine, record_usage
from bx_platform.control.cli import parse_period
from bx_platform.errors import InputError
from bx_platform_tests.control.conftest import spec_for


def _bx(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_an_operator_creates_an_organization_a_key_and_reads_the_usage(bx_home, capsys):
    assert _bx(capsys, "org", "create", "acme", "--credits", "100")[:2] == (0, "acme\n")
    code, out, err = _bx(capsys, "key", "create", "acme", "--capability", "market=coinbase:*", "--capability", "jobs_per_hour=2")
    secret = out.strip()
    assert code == 0 and "shown once" in err and secret not in err
    engine = open_engine()
    assert (bx_home / "control.sqlite").exists()
    identity = authenticate(engine, secret)
    assert identity.capabilities.markets == ("coinbase:*",) and identity.capabilities.jobs_per_hour == 2
    spec = spec_for("acme")
    admit_submission(engine, identity, spec)
    record_usage(engine, spec.job_id, cpu_seconds=1.5, bar_steps=240)

    code, out, _ = _bx(capsys, "usage", "--org", "acme", "--json", "--period", "all")
    [statement] = json.loads(out)
    assert statement["granted"] == 100 and statement["jobs"][0]["job_id"] == spec.job_id
    assert statement["closing_balance"] == pytest.approx(100 - statement["charged"])
    code, out, _ = _bx(capsys, "usage")
    assert code == 0 and out.startswith("Usage in compute credits") and "Jobs of acme" in out and spec.job_id in out
    assert re.search(r"^acme +0\.00 +100\.00 ", out, flags=re.MULTILINE), out  # opening, granted: a table row
    code, out, _ = _bx(capsys, "org", "list")
    assert code == 0 and re.search(r"^acme +\d", out, flags=re.MULTILINE), out

    code, out, _ = _bx(capsys, "key", "list", "acme", "--json")
    [key] = json.loads(out)
    assert key["key_id"] == identity.key_id and ["market", "coinbase:*"] in key["capabilities"] and key["revoked_at"] is None
    assert "secret_hash" not in key and secret not in out
    assert _bx(capsys, "key", "revoke", identity.key_id)[1] == f"{identity.key_id}: revoked\n"
    code, out, _ = _bx(capsys, "key", "list")
    assert code == 0 and identity.key_id in out and "market=coinbase:*" in out and secret not in out
    assert authenticate(engine, secret) is None
    granted = _bx(capsys, "org", "grant", "acme", "5", "--note", "goodwill")[1]
    assert granted == f"acme: balance {105 - statement['charged']:g} credits\n"


def test_a_webhook_endpoint_is_added_with_its_secret_shown_once(bx_home, capsys):
    _bx(capsys, "org", "create", "acme")
    code, out, err = _bx(capsys, "webhook", "add", "acme", "https://hooks.example.org/bx")
    assert code == 0 and out.startswith("whsec_") and "shown once" in err
    assert _bx(capsys, "webhook", "deliver")[1] == "delivered 0, retrying later 0, given up 0\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["key", "create", "nobody"], "error: organization: no organization 'nobody'"),
        (["org", "create", "Not Valid"], "error: organization: 'Not Valid': lowercase"),
        (["key", "create", "acme", "--capability", "speed=fast"], "error: --capability: 'speed=fast'"),
        (["usage", "--period", "last week"], "error: --period: 'last week'"),
        (["webhook", "add", "acme", "mailto:x@example.org"], "error: url: 'mailto:x@example.org'"),
        (["key", "revoke", "bxk_ffffffffffffffff"], "error: key_id: no key"),
    ],
)
def test_mistakes_exit_2_with_one_line(bx_home, capsys, argv, message):
    _bx(capsys, "org", "create", "acme")
    code, _, err = _bx(capsys, *argv)
    assert code == 2 and err.startswith(message) and "Traceback" not in err


def test_periods():
    today = date(2026, 12, 1)
    utc = timezone.utc
    assert parse_period(None, today) == (datetime(2026, 12, 1, tzinfo=utc), datetime(2027, 1, 1, tzinfo=utc))
    assert parse_period("2026-02", today) == (datetime(2026, 2, 1, tzinfo=utc), datetime(2026, 3, 1, tzinfo=utc))
    assert parse_period("2026-02-03", today)[1] == datetime(2026, 2, 4, tzinfo=utc)
    assert parse_period("2026-01-01..2026-04-01", today)[1] == datetime(2026, 4, 1, tzinfo=utc)
    assert parse_period("all", today)[1] == datetime(2026, 12, 2, tzinfo=utc)
    with pytest.raises(InputError, match="the end must be after the start"):
        parse_period("2026-04-01..2026-01-01", today)
