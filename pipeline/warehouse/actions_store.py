"""The action queue in ``app.actions_queue``: proposals in, guardrails applied, approvals and executions.

``propose_actions`` is the one way rules, recommendations and allocations queue a change.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from psycopg.types.json import Jsonb

from pipeline.analytics.actions import ActionProposal


def propose_actions(
    conn: psycopg.Connection,
    proposals: Iterable[ActionProposal],
    *,
    tenant_id: str = "default",
    run_id: str | None = None,
) -> list[int]:
    """Queue proposals (one live row per idempotency key); returns their action ids.

    TODO(actions): run the guardrails and record ``blocked`` with reasons.
    """
    ids: list[int] = []
    with conn.transaction():
        for p in proposals:
            row = conn.execute(
                """
                insert into app.actions_queue (tenant_id, source, source_ref, platform, account_id, campaign_id,
                    campaign_name, action_type, params, reason, evidence, idempotency_key, run_id)
                values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                on conflict (tenant_id, idempotency_key)
                    where status in ('proposed', 'blocked', 'approved', 'executing')
                do update set reason = excluded.reason, evidence = excluded.evidence, run_id = excluded.run_id,
                    updated_at = now()
                returning action_id""",
                (
                    tenant_id,
                    p.source,
                    p.source_ref,
                    p.platform,
                    p.account_id,
                    p.campaign_id,
                    p.campaign_name,
                    p.action_type,
                    Jsonb(p.params),
                    p.reason,
                    Jsonb(dict(p.evidence)),
                    p.idempotency_key,
                    run_id,
                ),
            ).fetchone()
            assert row is not None
            ids.append(row[0])
    return ids
