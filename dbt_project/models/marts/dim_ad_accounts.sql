select
    platform,
    source,
    account_id,
    account_name,
    currency,
    timezone,
    status,
    platform_status
from {{ ref('int_ad_accounts__unioned') }}
