"""The published JSON contract: what the platform sends validates against observation_schema.json, what the
example model answers against decision_schema.json, and answers the schema refuses are violations."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from jsonschema import Draft202012Validator

import bx_platform.strategies as strategies_package
from bx_platform.strategies.base import StrategyViolation, observation_from_json, observation_to_json
from bx_platform.strategies.remote import interpret

from ._support import majors_daily, observation_at, remote_model

SCHEMAS = Path(strategies_package.__file__).parent


def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_observations_and_the_example_models_answers_follow_the_schemas():
    observations, decisions = _validator("observation_schema.json"), _validator("decision_schema.json")
    bars = majors_daily()
    with remote_model() as endpoint:
        for t in (0, 99, 130, 717):
            document = observation_to_json(observation_at(bars, t, 100, "1d"))
            observations.validate(document)
            answer = httpx.post(endpoint + "/decide", json=document).json()
            decisions.validate(answer)


def test_an_observation_read_back_from_json_has_the_same_bar_times_in_any_utc_offset_form():
    observation = observation_at(majors_daily(), 130, 100, "1d")
    document = observation_to_json(observation)
    with_offsets = json.loads(json.dumps(document).replace('Z"', '+00:00"'))
    for read in (observation_from_json(document), observation_from_json(with_offsets)):
        assert read.decision_time == observation.decision_time
        for key, window in observation.markets.items():
            assert np.array_equal(read.markets[key].ts, window.ts) and read.markets[key].ts.dtype == window.ts.dtype


@pytest.mark.parametrize(
    "body",
    ['{"targets": {}}', '{"weights": {"bitstamp:BTC/USD": "all in"}}', '{"weights": [0.5]}', '{"weights": null, "model_version": 3}'],
)
def test_answers_outside_the_decision_schema_are_malformed(body):
    assert list(_validator("decision_schema.json").iter_errors(json.loads(body)))
    with pytest.raises(StrategyViolation) as caught:
        interpret(200, body, None, "", {"bitstamp:BTC/USD"})
    assert caught.value.kind == "malformed"
