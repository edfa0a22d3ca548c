"""The job spec: canonical identity, immutability, and clear errors for bad input."""

from __future__ import annotations

import pytest
import yaml

from bx_platform.errors import InputError
from bx_platform.jobs.spec import JobSpec, load_spec, parse_spec
from bx_platform_tests.conftest import JOBS_DIR

BASE = {
    "organization": "acme",
    "markets": [{"venue": "coinbase", "symbol": "BTC/USD"}],
    "window": {"start": "2018-01-01", "end": "2019-01-01"},
    "strategies": ["bx/sma-trend"],
}


def test_same_spec_same_id_whatever_its_spelling():
    explicit = {
        **BASE,
        "window": {"start": "2018-01-01T00:00:00Z", "end": "2019-01-01T01:00:00+01:00"},
        "capital": {"initial": 100000},
        "timeframe": "1h",
        "schema_version": "1",
    }
    assert parse_spec(BASE).job_id == parse_spec(explicit).job_id


def test_any_change_is_another_job():
    changed = {**BASE, "costs": {"fee_bps": 11}}
    assert parse_spec(BASE).job_id != parse_spec(changed).job_id


def test_canonical_json_has_every_default_and_the_schema_version():
    text = parse_spec(BASE).canonical_json()
    assert '"schema_version":"1"' in text and '"fee_bps":10.0' in text and '"initial":100000.0' in text


def test_a_spec_cannot_be_modified():
    spec = parse_spec(BASE)
    with pytest.raises(Exception):
        spec.organization = "other"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"strategies": []}, "strategies"),
        ({"capital": {"initial": -5}}, "capital.initial"),
        ({"window": {"start": "2019-01-01", "end": "2018-01-01"}}, "window"),
        ({"visibility": "secret"}, "visibility"),
        ({"markets": [{"venue": "coinbase"}]}, "markets.0.symbol"),
        ({"colour": "blue"}, "colour"),
        ({"strategies": ["bx/momentum", "bx/momentum"]}, "strategies"),
    ],
)
def test_invalid_specs_name_the_field(change, field):
    with pytest.raises(InputError) as raised:
        parse_spec({**BASE, **change}, source="job.yaml")
    assert raised.value.where == f"job.yaml: {field}"


def test_malformed_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("organization: acme\nmarkets: [unclosed\n")
    with pytest.raises(InputError) as raised:
        load_spec(path)
    assert raised.value.where == str(path) and "malformed YAML" in raised.value.problem


def test_every_shipped_example_job_is_valid():
    specs = [load_spec(path) for path in sorted(JOBS_DIR.glob("*.yaml"))]
    assert len(specs) >= 3 and len({s.job_id for s in specs}) == len(specs)
    assert all(isinstance(s, JobSpec) for s in specs)
    assert yaml.safe_load((JOBS_DIR / "01-coinbase-btc-hourly-2018.yaml").read_text())["organization"] == "bx-demo"


def test_json_and_yaml_bytes_are_the_same_job():
    """parse_spec_bytes is what the file loader and the API both use: JSON and YAML spellings agree."""
    import json

    from bx_platform.jobs.spec import parse_spec_bytes

    as_json = parse_spec_bytes(json.dumps({**BASE, "capital": {"initial": 1e6}}).encode(), "request body")
    as_yaml = parse_spec_bytes(yaml.safe_dump({**BASE, "capital": {"initial": 1000000}}).encode(), "job.yaml")
    assert as_json.job_id == as_yaml.job_id == parse_spec({**BASE, "capital": {"initial": 1e6}}).job_id


@pytest.mark.parametrize(
    "body, where, problem",
    [
        (b'{"organization": "acme", "organization": "evil"}', "request body: organization", "key given twice"),
        (b'{"capital": {"initial": NaN}}', "request body", "NaN is not a number a spec may hold"),
        (b"organization: acme\norganization: evil\n", "request body: organization", "key given twice (lines 1 and 2)"),
        (b" " * (64 * 1024 + 1), "request body", "too large (65,537 bytes); a job spec is at most 65,536 bytes"),
        (b"\xff\xfe", "request body", "not UTF-8 text (byte 0)"),
    ],
)
def test_request_bodies_are_refused_naming_the_source(body, where, problem):
    from bx_platform.jobs.spec import parse_spec_bytes

    with pytest.raises(InputError) as raised:
        parse_spec_bytes(body, "request body")
    assert raised.value.where == where and problem in raised.value.problem
