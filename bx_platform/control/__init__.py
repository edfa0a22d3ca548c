"""The control plane: organizations, API keys and capabilities, usage metering in compute credits and signed
webhooks, on the control-plane store (SQLAlchemy + Alembic; SQLite by default, PostgreSQL in production).

Domain-level: no Dagster, no web framework. The HTTP service and the CLI call these functions with an engine
from `open_engine()` and map a `Refusal` to their own errors (docs/api.md).
"""

from bx_platform.control.capabilities import (
    Capabilities,
    KeyIdentity,
    Refusal,
    check_admin,
    check_strategy_registration,
    check_strategy_use,
    check_submission,
    job_type,
    parse_capabilities,
)
from bx_platform.control.keys import authenticate, create_key, create_organization, key_identity, revoke_key
from bx_platform.control.metering import (
    Admission,
    Quote,
    admit_submission,
    balance,
    grant_credits,
    quote_credits,
    quote_job,
    record_usage,
    usage_statement,
)
from bx_platform.control.store import default_control_url, open_engine
from bx_platform.control.webhooks import add_endpoint, deliver_due, enqueue_event, message_attempts

__all__ = [
    "Admission",
    "Capabilities",
    "KeyIdentity",
    "Quote",
    "Refusal",
    "add_endpoint",
    "admit_submission",
    "authenticate",
    "balance",
    "check_admin",
    "check_strategy_registration",
    "check_strategy_use",
    "check_submission",
    "create_key",
    "create_organization",
    "default_control_url",
    "deliver_due",
    "enqueue_event",
    "grant_credits",
    "job_type",
    "key_identity",
    "message_attempts",
    "open_engine",
    "parse_capabilities",
    "quote_credits",
    "quote_job",
    "record_usage",
    "revoke_key",
    "usage_statement",
]
