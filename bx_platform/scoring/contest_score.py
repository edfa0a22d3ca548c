"""ContestScore: duplicate-aware participation scoring, separate from allocation (docs/scoring.md, "ContestScore").

1. Contest groups: entries with the same contest key (the job's contest tag) compete together across jobs and
   organizations; an untagged entry competes within its own job (key "job:<job_id>").
2. Duplicates: two entries of a group are duplicates when their daily returns, on the days both have a finite
   value, number at least `min_overlap_days` and have Pearson correlation ≥ `duplicate_correlation` (0.95).
   When either series is constant on the overlap (correlation undefined), they are duplicates iff equal there.
3. Clusters: connected components of the duplicate graph (union-find; the root is the smallest entry id), so
   near-copies chained through a third entry share one cluster. cluster_id = "<contest key>#<smallest entry id>".
4. Credit: clusters are ranked by their best member's beta score (desc; ties by that member's strategy handle,
   then entry id; a non-finite beta score ranks last). With K clusters, the cluster at rank r earns
   100 · (K − r + 1) / K points, split equally among its members. Submitting copies adds no credit.

Nothing here feeds CapitalScore, and capital_score never imports this module.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_DUPLICATE_CORRELATION = 0.95
DEFAULT_MIN_OVERLAP_DAYS = 20


@dataclass(frozen=True)
class ContestEntry:
    """One strategy result taking part in a contest.

    dates: daily index (datetime64[D] or ISO date strings), returns: daily returns aligned with dates (a series
    already aligned to a common index is passed with that index as dates). contest_key: the job's contest tag,
    None when untagged. beta_score: the entry's beta score (use utility × 100 if no hold benchmark exists).
    """

    entry_id: str
    organization: str
    job_id: str
    strategy_handle: str
    contest_key: str | None
    dates: Sequence | np.ndarray
    returns: Sequence[float] | np.ndarray
    beta_score: float

    @property
    def group_key(self) -> str:
        return self.contest_key if self.contest_key else f"job:{self.job_id}"


@dataclass(frozen=True)
class ContestResult:
    entry_id: str
    contest_key: str
    cluster_id: str
    cluster_size: int
    cluster_rank: int
    contest_score: float


def _series(entry: ContestEntry) -> tuple[np.ndarray, np.ndarray]:
    """(dates as datetime64[D], returns as float64) restricted to finite returns, sorted by date."""
    dates = np.asarray(entry.dates, dtype="datetime64[D]")
    rets = np.asarray(entry.returns, dtype=np.float64)
    if dates.shape != rets.shape:
        raise ValueError(f"entry {entry.entry_id}: {dates.shape[0]} dates but {rets.shape[0]} returns")
    keep = np.isfinite(rets)
    order = np.argsort(dates[keep], kind="stable")
    return dates[keep][order], rets[keep][order]


def are_duplicates(
    a: tuple[np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray],
    threshold: float = DEFAULT_DUPLICATE_CORRELATION,
    min_overlap: int = DEFAULT_MIN_OVERLAP_DAYS,
) -> bool:
    """Whether two (dates, returns) series are near-copies on their overlapping days."""
    _, ia, ib = np.intersect1d(a[0], b[0], assume_unique=False, return_indices=True)
    if ia.size < min_overlap:
        return False
    x, y = a[1][ia], b[1][ib]
    sx, sy = float(np.std(x)), float(np.std(y))
    if sx == 0.0 or sy == 0.0:
        return bool(np.array_equal(x, y))
    corr = float(np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy))
    return corr >= threshold


class _UnionFind:
    """Union-find over 0..n-1 whose root is always the smallest index (deterministic)."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)


def duplicate_clusters(
    entries: Sequence[ContestEntry],
    threshold: float = DEFAULT_DUPLICATE_CORRELATION,
    min_overlap: int = DEFAULT_MIN_OVERLAP_DAYS,
) -> list[list[ContestEntry]]:
    """Clusters of one contest group, each sorted by entry id, ordered by their smallest entry id."""
    ordered = sorted(entries, key=lambda e: e.entry_id)
    series = [_series(e) for e in ordered]
    uf = _UnionFind(len(ordered))
    for i in range(len(ordered)):
        for j in range(i + 1, len(ordered)):
            if are_duplicates(series[i], series[j], threshold, min_overlap):
                uf.union(i, j)
    clusters: dict[int, list[ContestEntry]] = defaultdict(list)
    for i, e in enumerate(ordered):
        clusters[uf.find(i)].append(e)
    return [clusters[root] for root in sorted(clusters)]


def _rank_key(entry: ContestEntry) -> tuple:
    b = float(entry.beta_score)
    finite = math.isfinite(b)
    return (0 if finite else 1, -b if finite else 0.0, entry.strategy_handle, entry.entry_id)


def _score_group(key: str, entries: Sequence[ContestEntry], threshold: float, min_overlap: int) -> list[ContestResult]:
    clusters = duplicate_clusters(entries, threshold, min_overlap)
    ranked = sorted(clusters, key=lambda c: _rank_key(min(c, key=_rank_key)))
    k = len(ranked)
    out = []
    for rank, cluster in enumerate(ranked, start=1):
        points = 100.0 * (k - rank + 1) / k
        cid = f"{key}#{cluster[0].entry_id}"
        for e in cluster:
            out.append(ContestResult(e.entry_id, key, cid, len(cluster), rank, points / len(cluster)))
    return out


def contest_scores(
    entries: Sequence[ContestEntry],
    *,
    duplicate_correlation: float = DEFAULT_DUPLICATE_CORRELATION,
    min_overlap_days: int = DEFAULT_MIN_OVERLAP_DAYS,
) -> list[ContestResult]:
    """ContestScore of every entry, ordered by contest key, cluster rank, entry id.

    Entry ids must be unique. duplicate_correlation and min_overlap_days come from the score version's
    `contest:` section.
    """
    ids = [e.entry_id for e in entries]
    if len(set(ids)) != len(ids):
        raise ValueError("contest entries need unique entry ids")
    groups: dict[str, list[ContestEntry]] = defaultdict(list)
    for e in entries:
        groups[e.group_key].append(e)
    results: list[ContestResult] = []
    for key in sorted(groups):
        group_results = _score_group(key, groups[key], duplicate_correlation, min_overlap_days)
        results.extend(sorted(group_results, key=lambda r: (r.cluster_rank, r.entry_id)))
    return results
