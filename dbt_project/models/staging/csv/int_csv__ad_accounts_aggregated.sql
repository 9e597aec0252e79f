-- Files carry no account listing: an account is whatever its rows say, newest row first.
-- Not a staging model: no source table lists accounts. Derived from the imported rows of both raw
-- tables (daily and hourly) through csv_file_rows(), the rows staging reads, rather than from the
-- two staging views: the hourly view belongs to the intraday (hourly) assets, and daily models
-- must never wait for it.
with file_rows as (
    {{ csv_file_rows() }}
)

select
    tenant_id,
    platform,
    account_id,
    {{ csv_latest("nullif(payload ->> 'account_name', '')") }} as account_name,
    {{ csv_latest("upper(payload ->> 'currency')") }} as currency,
    {{ csv_latest("payload ->> 'timezone'") }} as timezone,
    -- A file says nothing about the account's state.
    'UNKNOWN'::text as status,
    null::text as platform_status,
    -- A file does not say how its conversions were attributed.
    null::text as attribution_setting,
    null::text as attribution_setting_source,
    min(date_day) as first_reported_date,
    max(date_day) as last_reported_date,
    max(_extracted_at) as _extracted_at
from file_rows
group by tenant_id, platform, account_id
