-- BX Platform: ready-made analyst queries over the tables and views of sql/schema.sql (see docs/warehouse.md).
-- Each query's `-- store:` line names the store it runs on: `public`, the analyst store holding public data
-- only (public_* tables), and/or `operator`, the operator store (views over every verified partition, private
-- jobs included, and the public_* views). Open either read-only; runs never lock them:
--   bx sql "…"                   or  duckdb -readonly .bx/warehouse/public/bx-public.duckdb "…"
--   bx sql --operator "…"        or  duckdb -readonly .bx/warehouse/bx.duckdb "…"
--   python: duckdb.connect(".bx/warehouse/public/bx-public.duckdb", read_only=True)
-- Plain views are VERIFIED data only; staged_* is as loaded, quarantine_* failed a quality gate; public_* never
-- shows a private job. Each query ends with ';' and is preceded by a `-- name:` line. Every query is run by
-- bx_platform_tests/warehouse/test_analyst_queries.py on a small demo store.
-- Placeholders are marked with a comment: `/* :job_id */` follows a subquery that picks the most recently
-- submitted job that has results (complete or partial: a job stopped by a quality gate has none; job ids are
-- content hashes, so "most recent" is by `submitted_at`, not by id); replace that subquery by a literal such
-- as 'job-cca09cb3e333d4bb3411287d' to pick another job.
-- `/* :strategy */` follows a strategy handle such as 'bx/momentum'.

-- name: top_strategies_by_beta_score
-- store: public, operator
-- Best beta scores (utility points above the Benchmark Hold of the same room) on public jobs, eligible first.
SELECT s.strategy,
       s.job_id,
       j.name                       AS job_name,
       j.timeframe,
       round(s.beta_score, 2)       AS beta_score,
       round(s.bx_score, 1)         AS bx_score,
       round(s.utility, 4)          AS utility,
       round(s.hold_utility, 4)     AS hold_utility,
       s.eligible,
       s.failed_gates
FROM public_scores s
JOIN public_jobs j USING (job_id)
WHERE s.beta_score IS NOT NULL
ORDER BY s.eligible DESC, s.beta_score DESC
LIMIT 20;

-- name: strategy_track_record
-- store: public, operator
-- One strategy across every public job it ran in, oldest first, with its running mean BX Score.
-- Replace 'bx/momentum' by the strategy handle you want.
SELECT s.strategy,
       j.submitted_at,
       s.job_id,
       j.markets,
       j.timeframe,
       s.rank,
       round(s.beta_score, 2) AS beta_score,
       round(s.bx_score, 1)   AS bx_score,
       s.eligible,
       s.flags,
       round(avg(s.bx_score) OVER (ORDER BY j.submitted_at ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), 1)
                              AS running_mean_bx_score
FROM public_scores s
JOIN public_jobs j USING (job_id)
WHERE s.strategy = 'bx/momentum' /* :strategy */
ORDER BY j.submitted_at;

-- name: metrics_pivot_for_one_job
-- store: operator
-- Whole-window metrics of every strategy of one job as columns (the `metrics` table is long).
PIVOT (
    SELECT strategy, metric, value
    FROM metrics
    WHERE scenario = 'all'
      AND job_id = (SELECT job_id FROM jobs WHERE outcome IN ('complete', 'partial') ORDER BY submitted_at DESC LIMIT 1) /* :job_id */
      AND metric IN ('total_return', 'annual_return', 'annual_volatility', 'sharpe', 'sortino', 'max_drawdown',
                     'tail_cvar_95_daily', 'turnover', 'cost', 'trade_count', 'win_rate', 'psr', 'dsr')
)
ON metric
USING first(value)
GROUP BY strategy
ORDER BY strategy;

-- name: per_session_utility_inputs
-- store: operator
-- The five utility terms of every battle session of one job, and the utility they give with the default MVP
-- weights U = 1.0*total_return - 0.6*max_drawdown - 2.0*tail_cvar_95_daily - 0.3*turnover - 1.0*cost
-- (docs/scoring.md; a score version may pin other weights: the scores table holds the official utilities).
WITH terms AS (
    PIVOT (
        SELECT strategy, scenario, metric, value
        FROM metrics
        WHERE job_id = (SELECT job_id FROM jobs WHERE outcome IN ('complete', 'partial') ORDER BY submitted_at DESC LIMIT 1) /* :job_id */
          AND metric IN ('total_return', 'max_drawdown', 'tail_cvar_95_daily', 'turnover', 'cost')
    )
    ON metric
    USING first(value)
    GROUP BY strategy, scenario
)
SELECT strategy,
       scenario,
       round(total_return, 4)       AS total_return,
       round(max_drawdown, 4)       AS max_drawdown,
       round(tail_cvar_95_daily, 4) AS tail_cvar_95_daily,
       round(turnover, 4)           AS turnover,
       round(cost, 4)               AS cost,
       round(1.0 * total_return - 0.6 * max_drawdown - 2.0 * tail_cvar_95_daily - 0.3 * turnover - 1.0 * cost, 4)
                                    AS utility_default_weights
FROM terms
ORDER BY strategy, scenario = 'all', scenario;

-- name: fills_and_fees_per_strategy
-- store: operator
-- Trading activity and what it cost, per job and strategy (verified fills only).
SELECT job_id,
       strategy,
       count(*)                                AS fills,
       count(*) FILTER (WHERE side = 'buy')    AS buys,
       count(*) FILTER (WHERE side = 'sell')   AS sells,
       round(sum(notional), 2)                 AS traded_notional,
       round(sum(fee), 2)                      AS fees,
       round(sum(slippage_cost), 2)            AS slippage,
       round(10000 * (sum(fee) + sum(slippage_cost)) / nullif(sum(notional), 0), 2) AS cost_bps_of_notional,
       min(ts)                                 AS first_fill,
       max(ts)                                 AS last_fill
FROM fills
GROUP BY job_id, strategy
ORDER BY job_id, fees DESC;

-- name: quarantined_partitions
-- store: operator
-- Partitions that failed a quality gate (the failed expectations themselves are in the Dagster UI, on the
-- asset check of the job's partition). One row per job and gated table, with its row count.
SELECT 'market_bars' AS gated_table, job_id, count(*) AS rows, min(ts) AS first_ts, max(ts) AS last_ts
FROM quarantine_market_bars GROUP BY job_id
UNION ALL
SELECT 'fills', job_id, count(*), min(ts), max(ts) FROM quarantine_fills GROUP BY job_id
UNION ALL
SELECT 'equity', job_id, count(*), min(ts), max(ts) FROM quarantine_equity GROUP BY job_id
ORDER BY job_id, gated_table;

-- name: staged_partitions_in_flight
-- store: operator
-- Partitions loaded but not yet through their gate (a job running now, or one that stopped mid-way).
-- These folders change under a running job: if a read fails with "Cannot open file", run it again.
SELECT 'market_bars' AS staged_table, job_id, count(*) AS rows FROM staged_market_bars GROUP BY job_id
UNION ALL
SELECT 'fills', job_id, count(*) FROM staged_fills GROUP BY job_id
UNION ALL
SELECT 'equity', job_id, count(*) FROM staged_equity GROUP BY job_id
ORDER BY job_id, staged_table;

-- name: equity_curve_daily
-- store: operator
-- One strategy's equity curve of one job downsampled to UTC days (last mark of the day), with the daily return
-- and the running drawdown.
WITH daily AS (
    SELECT date_trunc('day', ts AT TIME ZONE 'UTC') AS day,
           arg_max(equity, ts)                       AS equity,
           max(gross_exposure)                       AS max_gross_exposure
    FROM equity
    WHERE job_id = (SELECT job_id FROM jobs WHERE outcome IN ('complete', 'partial') ORDER BY submitted_at DESC LIMIT 1) /* :job_id */
      AND strategy = 'bx/momentum' /* :strategy */
    GROUP BY day
)
SELECT day,
       round(equity, 2)                                                           AS equity,
       round(equity / lag(equity) OVER (ORDER BY day) - 1, 5)                     AS daily_return,
       round(equity / max(equity) OVER (ORDER BY day) - 1, 5)                     AS drawdown,
       round(max_gross_exposure, 3)                                               AS max_gross_exposure
FROM daily
ORDER BY day;

-- name: contest_standings
-- store: public, operator
-- Duplicate-aware contest standings (public jobs only): clusters of near-identical entries share one rank.
SELECT c.contest,
       c.cluster_rank,
       c.strategy,
       c.job_id,
       c.organization,
       c.cluster_size,
       round(c.contest_score, 2) AS contest_score,
       round(s.beta_score, 2)    AS beta_score,
       s.eligible
FROM public_contest_standings c
LEFT JOIN public_scores s USING (job_id, strategy)
ORDER BY c.contest, c.cluster_rank, c.strategy;

-- name: long_term_leaderboard
-- store: public, operator
-- The credibility-weighted long-term leaderboard (public jobs only), one board per market class, with each
-- strategy's statistical tier and its best and worst job in that class.
SELECT l.market_class,
       l.rank,
       l.tier,
       l.strategy,
       l.evaluations,
       round(l.mean_bx_score, 1)  AS mean_bx_score,
       round(l.credibility, 3)    AS credibility,
       round(l.credible_score, 1) AS credible_score,
       l.eligible_share,
       l.violations,
       round(max(s.bx_score), 1)  AS best_bx_score,
       round(min(s.bx_score), 1)  AS worst_bx_score
FROM public_leaderboard l
LEFT JOIN public_scores s USING (strategy, market_class)
GROUP BY ALL
ORDER BY l.market_class, l.rank;

-- name: jobs_and_outcomes
-- store: operator
-- Every verified job with how it ended (job_outcomes: complete | partial | failed; NULL while it runs).
SELECT job_id, name, organization, visibility, timeframe, submitted_at, coalesce(outcome, 'running') AS outcome
FROM jobs
ORDER BY submitted_at DESC;

-- name: league_standings_latest
-- store: public, operator
-- Each public league's standings after its latest scored round (docs/leagues.md): cumulative rank and mean beta
-- score over the rounds played, next to that round's own rank, score and tier.
SELECT league,
       round,
       cumulative_rank,
       strategy,
       rounds,
       round(cumulative_score, 3) AS cumulative_score,
       cumulative_tier,
       rank                       AS round_rank,
       round(score, 3)            AS round_score,
       tier                       AS round_tier
FROM public_league_standings
QUALIFY round = max(round) OVER (PARTITION BY league)
ORDER BY league, cumulative_rank;
