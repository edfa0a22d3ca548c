-- BX Platform analytical store: DuckDB views over immutable Parquet partitions.
-- Created by `bx warehouse init` ({{root}} is the warehouse folder). Open the file read-only:
--   duckdb -readonly .bx/warehouse/bx.duckdb
-- Plain names are VERIFIED data (passed every quality gate); staged_* is as loaded, quarantine_* failed a gate.
-- Every row carries its organization; public_* views never show private jobs.

CREATE OR REPLACE VIEW job_outcomes AS SELECT * FROM read_parquet('{{root}}/tables/verified/job_outcomes/*.parquet', union_by_name = true);
-- jobs: one row per job with its outcome (complete | partial | failed; null while it runs)
CREATE OR REPLACE VIEW jobs AS
    SELECT j.*, o.outcome
    FROM read_parquet('{{root}}/tables/verified/jobs/*.parquet', union_by_name = true) AS j
    LEFT JOIN job_outcomes AS o USING (job_id);
CREATE OR REPLACE VIEW market_bars AS SELECT * FROM read_parquet('{{root}}/tables/verified/market_bars/*.parquet', union_by_name = true);
CREATE OR REPLACE VIEW fills AS SELECT * FROM read_parquet('{{root}}/tables/verified/fills/*.parquet', union_by_name = true);
CREATE OR REPLACE VIEW equity AS SELECT * FROM read_parquet('{{root}}/tables/verified/equity/*.parquet', union_by_name = true);
CREATE OR REPLACE VIEW metrics AS SELECT * FROM read_parquet('{{root}}/tables/verified/metrics/*.parquet', union_by_name = true);
CREATE OR REPLACE VIEW scores AS SELECT * FROM read_parquet('{{root}}/tables/verified/scores/*.parquet', union_by_name = true);
CREATE OR REPLACE VIEW strategy_runs AS SELECT * FROM read_parquet('{{root}}/tables/verified/strategy_runs/*.parquet', union_by_name = true);
-- every call to a remote strategy model (operators only: it holds the models' answers)
CREATE OR REPLACE VIEW remote_calls AS SELECT * FROM read_parquet('{{root}}/tables/verified/remote_calls/*.parquet', union_by_name = true);
-- execution_summary: per job and strategy, orders, fills, partial fills, clips and rejections by reason, costs, exposure
CREATE OR REPLACE VIEW execution_summary AS SELECT * FROM read_parquet('{{root}}/tables/verified/execution_summary/*.parquet', union_by_name = true);
-- contest_standings: a store-wide table published as numbered snapshots; the view shows the newest one.
CREATE OR REPLACE VIEW contest_standings AS
    SELECT * EXCLUDE (filename) FROM read_parquet('{{root}}/tables/verified/contest_standings/*.parquet', union_by_name = true, filename = true)
    QUALIFY filename = max(filename) OVER ();  -- one scan: the newest of the files this query read
-- leaderboard: a store-wide table published as numbered snapshots; the view shows the newest one.
CREATE OR REPLACE VIEW leaderboard AS
    SELECT * EXCLUDE (filename) FROM read_parquet('{{root}}/tables/verified/leaderboard/*.parquet', union_by_name = true, filename = true)
    QUALIFY filename = max(filename) OVER ();  -- one scan: the newest of the files this query read
-- league_rounds: one row per league round, its job and window (written when the round is submitted)
CREATE OR REPLACE VIEW league_rounds AS SELECT * FROM read_parquet('{{root}}/tables/verified/league_rounds/*.parquet', union_by_name = true);
-- league_standings: a store-wide table published as numbered snapshots (per round and cumulative, docs/leagues.md)
CREATE OR REPLACE VIEW league_standings AS
    SELECT * EXCLUDE (filename) FROM read_parquet('{{root}}/tables/verified/league_standings/*.parquet', union_by_name = true, filename = true)
    QUALIFY filename = max(filename) OVER ();  -- one scan: the newest of the files this query read
CREATE OR REPLACE VIEW staged_market_bars AS SELECT * FROM read_parquet('{{root}}/tables/staged/market_bars/*.parquet', union_by_name = true);
CREATE OR REPLACE VIEW staged_fills AS SELECT * FROM read_parquet('{{root}}/tables/staged/fills/*.parquet', union_by_name = true);
CREATE OR REPLACE VIEW staged_equity AS SELECT * FROM read_parquet('{{root}}/tables/staged/equity/*.parquet', union_by_name = true);
CREATE OR REPLACE VIEW quarantine_market_bars AS SELECT * FROM read_parquet('{{root}}/tables/quarantine/market_bars/*.parquet', union_by_name = true);
CREATE OR REPLACE VIEW quarantine_fills AS SELECT * FROM read_parquet('{{root}}/tables/quarantine/fills/*.parquet', union_by_name = true);
CREATE OR REPLACE VIEW quarantine_equity AS SELECT * FROM read_parquet('{{root}}/tables/quarantine/equity/*.parquet', union_by_name = true);

-- Public views: what anyone may see. Private jobs never appear here.
CREATE OR REPLACE VIEW public_jobs AS
    SELECT * EXCLUDE (record_json) FROM jobs WHERE visibility = 'public';
-- A job that failed after its scores were written (a board it could not rebuild) shows no scores, as on the boards.
CREATE OR REPLACE VIEW public_scores AS
    SELECT * FROM scores WHERE visibility = 'public'
    AND job_id NOT IN (SELECT job_id FROM job_outcomes WHERE outcome = 'failed');
CREATE OR REPLACE VIEW public_room_leaderboard AS
    SELECT job_id, market_class, rank, tier, strategy, beta_score, bx_score, utility, hold_utility, capital_score, contest_score, eligible, failed_gates, market_context
    FROM public_scores
    ORDER BY job_id, rank;
-- The long-term leaderboard is built from public jobs only, one board per market class (see docs/scoring.md).
CREATE OR REPLACE VIEW public_leaderboard AS
    SELECT * FROM leaderboard ORDER BY market_class, rank;
-- Contest standings count public jobs only (private jobs compete in no public contest).
CREATE OR REPLACE VIEW public_contest_standings AS
    SELECT * FROM contest_standings ORDER BY contest, cluster_rank, strategy;
-- Standings of public leagues only (a private league's rounds are private jobs).
CREATE OR REPLACE VIEW public_league_standings AS
    SELECT league, round, job_id, strategy, rank, score, tier, rounds, cumulative_score, cumulative_rank, cumulative_tier
    FROM league_standings WHERE visibility = 'public' ORDER BY league, round, rank;
-- Verified metrics of public jobs (per session and whole window).
CREATE OR REPLACE VIEW public_metrics AS
    SELECT * FROM metrics WHERE job_id IN (SELECT job_id FROM public_jobs);
-- The whole-window slice of `metrics` (long: one row per metric; PIVOT it for one column per metric).
CREATE OR REPLACE VIEW metrics_whole_window AS
    SELECT job_id, organization, strategy, metric, value FROM metrics WHERE scenario = 'all';
