with source as (
    select * from {{ source('csv', 'ad_performance_hourly') }}
),

-- Files give local clock hours; the account's IANA timezone turns them into instants.
accounts as (
    select platform, account_id, timezone from {{ ref('stg_csv__ad_accounts') }}
)

select
    source.platform,
    source.account_id,
    source.ad_id,
    source.hour_start_local::date as date_day,
    extract(hour from source.hour_start_local)::integer as hour_of_day,
    source.hour_start_local,
    {{ local_hour_start_to_utc('source.hour_start_local', 'accounts.timezone') }} as hour_start_utc,
    {{ csv_performance_columns('source.payload') }},
    accounts.timezone,
    source._sync_id,
    source._extracted_at
from source
left join accounts
    on source.platform = accounts.platform
    and source.account_id = accounts.account_id
-- Rows with a value staging cannot read are in stg_csv__rejected_rows instead.
where {{ csv_row_problem('source.payload') }} is null
