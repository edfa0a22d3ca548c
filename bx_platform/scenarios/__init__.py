"""Hidden scenarios of the official private evaluation (docs/private-evaluation.md): one real-sister, five
perturbations and five stress scenarios, each a full set of bars on the job's market keys and timestamps that
the engine runs exactly like real data. Every random choice comes from the scenario's seed (seeds.py).

Domain core: bars in, bars out; nothing here knows about jobs, pipelines or Dagster."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bx_platform.scenarios import perturbations, stress
from bx_platform.scenarios.bars import Bars, bars_sha256
from bx_platform.scenarios.seeds import commitment, generator, scenario_seed
from bx_platform.scenarios.sister import sister_bars
from bx_platform.scenarios.stress import ExecutionShock, StressedBars

REAL_SISTER, PERTURBATION, STRESS = "real-sister", "perturbation", "stress"


def _plain(transform: Callable[[Bars, np.random.Generator], Bars]) -> Callable[[Bars, np.random.Generator], StressedBars]:
    return lambda bars, rng: StressedBars(transform(bars, rng))


# name -> (kind, transform of the real bars); the order is the result document's
TRANSFORMS: dict[str, tuple[str, Callable[[Bars, np.random.Generator], StressedBars] | None]] = {
    "real-sister": (REAL_SISTER, None),  # real bars of another venue or window: no random choice
    "block-bootstrap": (PERTURBATION, _plain(perturbations.block_bootstrap)),
    "bar-noise": (PERTURBATION, _plain(perturbations.bar_noise)),
    "time-shift": (PERTURBATION, _plain(perturbations.time_shift)),
    "volatility-rescale": (PERTURBATION, _plain(perturbations.volatility_rescale)),
    "drift-change": (PERTURBATION, _plain(perturbations.drift_change)),
    "crash": (STRESS, stress.crash),
    "volatility-spike": (STRESS, stress.volatility_spike),
    "liquidity-drought": (STRESS, stress.liquidity_drought),
    "fee-shock": (STRESS, stress.fee_shock),
    "outage": (STRESS, stress.outage),
}
SCENARIO_NAMES = tuple(TRANSFORMS)


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # real-sister | perturbation | stress
    bars: Bars
    shock: ExecutionShock
    gap: tuple[int, int] | None  # outage: the real bars [start, end) left out
    source: str  # operator-only: where the bars came from

    @property
    def bars_sha256(self) -> str:
        return bars_sha256(self.bars)


def scenario_seeds(secret: bytes, job_id: str) -> dict[str, str]:
    """The seed of each scenario of a job."""
    return {name: scenario_seed(secret, job_id, name) for name in SCENARIO_NAMES}


def seed_commitments(job_id: str, seeds: dict[str, str]) -> dict[str, str]:
    """The commitment to each seed, what a job record holds."""
    return {name: commitment(job_id, name, seed) for name, seed in seeds.items()}


def build_scenario(name: str, seed: str, bars: Bars, timeframe: str, archive_dir: Path | None = None) -> Scenario:
    """One scenario's bars (and execution shock) from the real bars and its seed."""
    kind, transform = TRANSFORMS[name]
    if transform is None:
        sister, source = sister_bars(bars, timeframe, archive_dir)
        return Scenario(name, kind, sister, ExecutionShock(), None, source)
    made = transform(bars, generator(seed))
    return Scenario(name, kind, made.bars, made.shock, made.gap, "transform of the real window")


def build_scenarios(seeds: dict[str, str], bars: Bars, timeframe: str, archive_dir: Path | None = None) -> list[Scenario]:
    return [build_scenario(name, seeds[name], bars, timeframe, archive_dir) for name in SCENARIO_NAMES]
