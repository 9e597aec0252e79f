{#-
    Alerts someone should look at: open or acknowledged (not resolved, not held back as
    suppressed), most severe first by severity_rank, then the most recently detected. Reads
    app.alerts live: the view is current as soon as the alerts asset has run.
-#}
select
    alerts.tenant_id,
    alerts.alert_id,
    alerts.severity,
    case alerts.severity when 'CRITICAL' then 1 when 'HIGH' then 2 when 'MEDIUM' then 3 else 4 end as severity_rank,
    alerts.status,
    alerts.alert_type,
    alerts.platform,
    alerts.account_id,
    alerts.entity_level,
    alerts.entity_id,
    alerts.entity_name,
    alerts.title,
    alerts.message,
    alerts.metric,
    alerts.current_value,
    alerts.baseline_value,
    alerts.threshold,
    alerts.window_start,
    alerts.window_end,
    alerts.detection_count,
    alerts.first_detected_at,
    alerts.last_detected_at,
    alerts.acknowledged_by,
    alerts.acknowledged_at
from {{ source('app', 'alerts') }} as alerts
where alerts.status in ('open', 'acknowledged')
    -- Row-level security by hand: a view runs with its owner's rights, so it filters for the reader.
    and alerts.tenant_id in (select app.visible_tenants())
