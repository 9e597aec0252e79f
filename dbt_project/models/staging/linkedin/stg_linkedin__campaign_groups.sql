-- LinkedIn's level above the campaign (not a house ad group): names and status, for reference.
select
    tenant_id,
    account_id,
    campaign_group_id,
    payload ->> 'name' as campaign_group_name,
    payload ->> 'status' as platform_status,
    {{ safe_cast("payload -> 'totalBudget' ->> 'amount'", "numeric") }} as total_budget,
    upper(payload -> 'totalBudget' ->> 'currencyCode') as total_budget_currency,
    to_timestamp({{ safe_cast("payload -> 'runSchedule' ->> 'start'", "numeric") }} / 1000) as started_at,
    to_timestamp({{ safe_cast("payload -> 'runSchedule' ->> 'end'", "numeric") }} / 1000) as stopped_at,
    _sync_id,
    _extracted_at
from {{ source('linkedin', 'campaign_groups') }}
