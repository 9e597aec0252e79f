with source as (
    select * from {{ source('csv', 'ad_performance_daily') }}
)

select
    tenant_id,
    -- The ad platform the file says the row is from (linkedin, pinterest, meta, ...), not 'csv'.
    platform,
    account_id,
    ad_id,
    "date" as date_day,
    {{ csv_performance_columns('payload') }},
    payload ->> 'timezone' as timezone,
    _sync_id,
    _extracted_at
from source
-- Rows with a value staging cannot read are in int_csv__rejected_rows_unioned instead.
where {{ csv_row_problem('payload') }} is null
