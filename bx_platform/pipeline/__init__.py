"""The application layer: a job's whole lifecycle, in one place.

    admit -> claim -> stage market data -> run the room -> evaluate -> score -> publish -> finish (-> deliver)

The CLI, the HTTP API and the Dagster definitions all call this package; the domain core (jobs, market,
strategies, execution, evaluation, scoring, warehouse) knows nothing of it. Every job ends in exactly one
place, `lifecycle.finish_job`, where its outcome is recorded and delivery and the audit trail hang.
"""
