"""Capability checks of a submission: pure functions of the key's identity and the job spec."""

from __future__ import annotations

import pytest

from bx_platform.control.capabilities import (
    Capabilities,
    KeyIdentity,
    check_admin,
    check_strategy_registration,
    check_submission,
    parse_capabilities,
)
from bx_platform.errors import InputError
from bx_platform_tests.control.conftest import spec_for


def _identity(**capabilities) -> KeyIdentity:
    return KeyIdentity("bxk_0123456789abcdef", "acme", Capabilities(**capabilities))


def test_a_submission_within_the_capabilities_passes():
    assert check_submission(_identity(), spec_for("acme")) is None


@pytest.mark.parametrize(
    "capabilities, changes, reason, capability",
    [
        ({"markets": ("binance:*",)}, {}, "market_not_allowed", "market"),
        ({"markets": ("coinbase:ETH/*",)}, {}, "market_not_allowed", "market"),
        ({"finest_timeframe": "4h"}, {}, "granularity_not_allowed", "finest_timeframe"),
        ({}, {"timeframe": "15m"}, "granularity_not_allowed", "finest_timeframe"),
        ({}, {"visibility": "private"}, "job_type_not_allowed", "job_type"),
        ({"job_types": frozenset({"private_evaluation"})}, {"contest": "league"}, "job_type_not_allowed", "job_type"),
        ({"use_strategies": ("bx/momentum",)}, {}, "strategy_not_allowed", "use_strategy"),
    ],
)
def test_refusals_are_403_and_name_the_capability(capabilities, changes, reason, capability):
    refusal = check_submission(_identity(**capabilities), spec_for("acme", **changes))
    assert (refusal.status, refusal.reason, refusal.capability) == (403, reason, capability)
    assert repr(capability) in refusal.detail


def test_market_patterns_match_venue_and_symbol():
    identity = _identity(markets=("coinbase:BTC/*", "bitstamp:*"))
    two_markets = [{"venue": "coinbase", "symbol": "BTC/USD"}, {"venue": "bitstamp", "symbol": "ETH/USD"}]
    assert check_submission(identity, spec_for("acme", markets=two_markets)) is None
    refusal = check_submission(identity, spec_for("acme", markets=[*two_markets, {"venue": "coinbase", "symbol": "ETH/USD"}]))
    assert refusal.reason == "market_not_allowed" and "coinbase:ETH/USD" in refusal.detail


def test_a_body_naming_another_organization_is_refused():
    refusal = check_submission(_identity(), spec_for("globex"))
    assert (refusal.status, refusal.reason) == (403, "organization_mismatch")


def test_registration_and_admin_rights():
    assert check_strategy_registration(_identity(register_strategies=("acme/*",)), "acme/alpha") is None
    assert check_strategy_registration(_identity(), "acme/alpha").capability == "register_strategy"
    assert check_admin(_identity(admin=True)) is None
    assert check_admin(_identity()).reason == "admin_required"


def test_capabilities_parse_from_the_command_line_and_round_trip_through_rows():
    caps = parse_capabilities(
        ["market=binance:*,coinbase:BTC/USD", "job_type=contest", "job_type=public_benchmark", "jobs_per_hour=5",
         "jobs_per_day=unlimited", "finest_timeframe=1d", "admin=true"]
    )
    assert caps.markets == ("binance:*", "coinbase:BTC/USD")
    assert caps.job_types == {"contest", "public_benchmark"}
    assert (caps.jobs_per_hour, caps.jobs_per_day, caps.finest_timeframe, caps.admin) == (5, None, "1d", True)
    assert caps.use_strategies == Capabilities().use_strategies  # not given: the default
    assert Capabilities.from_rows(caps.to_rows()) == caps


@pytest.mark.parametrize(
    "item, where",
    [("market", "--capability"), ("colour=red", "--capability"), ("job_type=everything", "--capability job_type"),
     ("finest_timeframe=1s", "--capability finest_timeframe"), ("jobs_per_hour=-1", "--capability jobs_per_hour"),
     ("admin=yes", "--capability admin")],
)
def test_bad_capabilities_name_what_is_wrong(item, where):
    with pytest.raises(InputError) as error:
        parse_capabilities([item])
    assert error.value.where == where
