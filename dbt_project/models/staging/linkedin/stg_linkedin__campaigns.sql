with source as (
    select * from {{ source('linkedin', 'campaigns') }}
),

accounts as (
    select account_id, currency from {{ ref('stg_linkedin__ad_accounts') }}
),

parsed as (
    select
        source.*,
        upper(source.payload ->> 'status') as linkedin_status,
        {{ safe_cast("source.payload -> 'dailyBudget' ->> 'amount'", "numeric") }} as daily_amount,
        {{ safe_cast("source.payload -> 'totalBudget' ->> 'amount'", "numeric") }} as total_amount,
        -- runSchedule: epoch milliseconds, UTC; the end is the instant delivery stops.
        to_timestamp({{ safe_cast("source.payload -> 'runSchedule' ->> 'start'", "numeric") }} / 1000) as started_at,
        to_timestamp({{ safe_cast("source.payload -> 'runSchedule' ->> 'end'", "numeric") }} / 1000) as stopped_at
    from source
)

select
    parsed.account_id,
    parsed.campaign_id,
    -- The level above the campaign (LinkedIn's campaign group), kept for reference.
    split_part(parsed.payload ->> 'campaignGroup', ':', 4) as campaign_group_id,
    parsed.payload ->> 'name' as campaign_name,
    -- Unified: COMPLETED campaigns ran out their schedule (archived); DRAFT ones never delivered.
    case parsed.linkedin_status
        when 'ACTIVE' then 'ACTIVE'
        when 'PAUSED' then 'PAUSED'
        when 'DRAFT' then 'PAUSED'
        when 'ARCHIVED' then 'ARCHIVED'
        when 'COMPLETED' then 'ARCHIVED'
        when 'CANCELED' then 'REMOVED'
        when 'PENDING_DELETION' then 'REMOVED'
        when 'REMOVED' then 'REMOVED'
    end as status,
    parsed.payload ->> 'status' as platform_status,
    parsed.payload ->> 'objectiveType' as objective,
    case
        when parsed.daily_amount > 0 then 'DAILY'
        when parsed.total_amount > 0 then 'LIFETIME'
    end as budget_type,
    -- Budgets are {amount, currencyCode}, the amount a decimal string in major units.
    parsed.daily_amount as daily_budget,
    parsed.total_amount as lifetime_budget,
    coalesce(
        upper(parsed.payload -> 'dailyBudget' ->> 'currencyCode'),
        upper(parsed.payload -> 'totalBudget' ->> 'currencyCode'),
        accounts.currency
    ) as currency,
    (parsed.started_at at time zone 'UTC')::date as start_date,
    ((parsed.stopped_at - interval '1 millisecond') at time zone 'UTC')::date as end_date,
    parsed.started_at,
    parsed.stopped_at,
    to_timestamp({{ safe_cast("parsed.payload -> 'changeAuditStamps' -> 'created' ->> 'time'", "numeric") }} / 1000) as created_at,
    to_timestamp({{ safe_cast("parsed.payload -> 'changeAuditStamps' -> 'lastModified' ->> 'time'", "numeric") }} / 1000) as updated_at,
    parsed._sync_id,
    parsed._extracted_at
from parsed
left join accounts
    on parsed.account_id = accounts.account_id
