{#
    Imported rows staging cannot read (csv_row_problem), with the reason naming the column. Staging
    leaves them out, so one bad row never fails a model for every platform; the post-hook keeps
    raw.quarantine in step with this view (stream ..._at_transform), next to the rows the importer
    itself refused, so `adsignal` and analysts find every set-aside row in one place.
    Not a staging model: it unions the rows both raw tables (daily and hourly) set aside, read
    directly like csv_file_rows(), since the hourly staging view belongs to the intraday assets.
#}
{{ config(
    post_hook=[
        "delete from raw.quarantine where platform = 'csv' and stream like '%\\_at\\_transform'",
        "insert into raw.quarantine (tenant_id, sync_id, platform, stream, account_id, source, line_number, reason, payload)
         select tenant_id, _sync_id, 'csv', stream, account_id, file_name, line_number, reason, payload from {{ this }}",
    ]
) }}

with rows_and_problems as (
    select
        'ad_performance_daily_at_transform'::text as stream,
        tenant_id,
        platform,
        account_id,
        ad_id,
        "date"::timestamp as reported_at,
        payload,
        _sync_id,
        _extracted_at,
        {{ csv_row_problem('payload') }} as reason
    from {{ source('csv', 'ad_performance_daily') }}
    union all
    select
        'ad_performance_hourly_at_transform',
        tenant_id,
        platform,
        account_id,
        ad_id,
        hour_start_local,
        payload,
        _sync_id,
        _extracted_at,
        {{ csv_row_problem('payload') }}
    from {{ source('csv', 'ad_performance_hourly') }}
)

select
    tenant_id,
    stream,
    platform,
    account_id,
    ad_id,
    reported_at,
    reason,
    payload ->> '_file_name' as file_name,
    {{ csv_safe_line_number('payload') }} as line_number,
    payload,
    _sync_id,
    _extracted_at
from rows_and_problems
where reason is not null
