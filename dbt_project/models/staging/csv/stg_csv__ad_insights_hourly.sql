with source as (
    select * from {{ source('csv', 'ad_performance_hourly') }}
)

select
    tenant_id,
    platform,
    account_id,
    ad_id,
    hour_start_local::date as date_day,
    extract(hour from hour_start_local)::integer as hour_of_day,
    -- A local clock hour; int_csv__ad_insights_hourly_joined turns it into an instant.
    hour_start_local,
    {{ csv_performance_columns('payload') }},
    payload ->> 'timezone' as timezone,
    _sync_id,
    _extracted_at
from source
-- Rows with a value staging cannot read are in int_csv__rejected_rows_unioned instead.
where {{ csv_row_problem('payload') }} is null
