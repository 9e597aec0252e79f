{#-
    AI recommendations still waiting for a person (status pending), most confident first by
    confidence_rank, with a confidence band to filter on and the campaign's current name and status
    from the marts. Reads app.ai_recommendations live: current as soon as the recommendations asset
    (or the CLI) has written. Recommendations the deterministic fallback produced are included and
    say so (produced_by = 'fallback', with fallback_reason).
-#}
with pending as (
    select *
    from {{ source('app', 'ai_recommendations') }}
    where status = 'pending'
        and tenant_id in (select app.visible_tenants())  -- the reader's tenants (views run as their owner)
)

select
    pending.tenant_id,
    pending.recommendation_id,
    pending.confidence,
    case
        when pending.confidence >= 0.8 then 'high'
        when pending.confidence >= 0.5 then 'medium'
        else 'low'
    end as confidence_band,
    rank() over (partition by pending.tenant_id order by pending.confidence desc) as confidence_rank,
    pending.action,
    pending.title,
    pending.rationale,
    pending.platform,
    pending.account_id,
    pending.campaign_id,
    campaigns.campaign_name,
    campaigns.status as campaign_status,
    pending.entity_level,
    pending.entity_id,
    pending.entity_name,
    pending.proposed_change,
    pending.expected_impact,
    pending.citations,
    jsonb_array_length(pending.citations) as citation_count,
    pending.produced_by,
    pending.fallback_reason,
    pending.model,
    pending.run_id,
    pending.as_of,
    pending.created_at,
    round((extract(epoch from (now() - pending.created_at)) / 3600.0)::numeric, 1) as hours_pending
from pending
left join {{ ref('dim_campaigns') }} as campaigns
    on pending.tenant_id = campaigns.tenant_id
    and pending.platform = campaigns.platform
    and pending.account_id = campaigns.account_id
    and pending.campaign_id = campaigns.campaign_id
