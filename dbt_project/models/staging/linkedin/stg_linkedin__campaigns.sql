with source as (
    select * from {{ source('linkedin', 'campaigns') }}
),

parsed as (
    select
        *,
        upper(payload ->> 'status') as linkedin_status,
        {{ safe_cast("payload -> 'dailyBudget' ->> 'amount'", "numeric") }} as daily_amount,
        {{ safe_cast("payload -> 'totalBudget' ->> 'amount'", "numeric") }} as total_amount,
        -- runSchedule: epoch milliseconds, UTC; the end is the instant delivery stops.
        to_timestamp({{ safe_cast("payload -> 'runSchedule' ->> 'start'", "numeric") }} / 1000) as started_at,
        to_timestamp({{ safe_cast("payload -> 'runSchedule' ->> 'end'", "numeric") }} / 1000) as stopped_at
    from source
)

select
    tenant_id,
    account_id,
    campaign_id,
    -- The level above the campaign (LinkedIn's campaign group), kept for reference.
    split_part(payload ->> 'campaignGroup', ':', 4) as campaign_group_id,
    payload ->> 'name' as campaign_name,
    -- Unified: COMPLETED campaigns ran out their schedule (archived); DRAFT ones never delivered.
    case linkedin_status
        when 'ACTIVE' then 'ACTIVE'
        when 'PAUSED' then 'PAUSED'
        when 'DRAFT' then 'PAUSED'
        when 'ARCHIVED' then 'ARCHIVED'
        when 'COMPLETED' then 'ARCHIVED'
        when 'CANCELED' then 'REMOVED'
        when 'PENDING_DELETION' then 'REMOVED'
        when 'REMOVED' then 'REMOVED'
    end as status,
    payload ->> 'status' as platform_status,
    payload ->> 'objectiveType' as objective,
    case
        when daily_amount > 0 then 'DAILY'
        when total_amount > 0 then 'LIFETIME'
    end as budget_type,
    -- Budgets are {amount, currencyCode}, the amount a decimal string in major units.
    daily_amount as daily_budget,
    total_amount as lifetime_budget,
    -- The budgets' currency (int_linkedin__campaigns_joined falls back to the account's).
    coalesce(
        upper(payload -> 'dailyBudget' ->> 'currencyCode'),
        upper(payload -> 'totalBudget' ->> 'currencyCode')
    ) as budget_currency,
    (started_at at time zone 'UTC')::date as start_date,
    ((stopped_at - interval '1 millisecond') at time zone 'UTC')::date as end_date,
    started_at,
    stopped_at,
    to_timestamp({{ safe_cast("payload -> 'changeAuditStamps' -> 'created' ->> 'time'", "numeric") }} / 1000) as created_at,
    to_timestamp({{ safe_cast("payload -> 'changeAuditStamps' -> 'lastModified' ->> 'time'", "numeric") }} / 1000) as updated_at,
    _sync_id,
    _extracted_at
from parsed
