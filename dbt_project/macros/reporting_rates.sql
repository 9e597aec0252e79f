{#
    The `with_rates` step of the ad facts: each row's reporting currency is its tenant's
    (app.tenants.reporting_currency, else var('reporting_currency')), and fx_rate converts the
    account currency into it on the row's day. fx_rates_daily holds every currency's rate into
    var('reporting_currency'); the tenant's rate is the cross rate through it:
    rate(account -> tenant) = rate(account -> base) / rate(tenant -> base), exactly 1 when the tenant
    reports in the base currency (so a one-tenant warehouse gets the rates it always had). A currency
    without a rate leaves fx_rate null (the money columns in reporting currency too), never a guess.
    A tenant's changed reporting currency applies to the days rebuilt from then on: rebuild older
    days with a full refresh.
#}
{% macro rows_with_reporting_rates(rows) %}
    {%- set base_currency = var('reporting_currency') | upper -%}
    select
        {{ rows }}.*,
        coalesce(upper(tenants.reporting_currency), '{{ base_currency }}') as reporting_currency,
        account_fx.rate_to_reporting / nullif(tenant_fx.rate_to_reporting, 0) as fx_rate
    from {{ rows }}
    left join {{ source('app', 'tenants') }} as tenants
        on tenants.tenant_id = {{ rows }}.tenant_id
    left join {{ ref('fx_rates_daily') }} as account_fx
        on account_fx.date_day = {{ rows }}.date_day
        and account_fx.currency = upper({{ rows }}.currency)
    left join {{ ref('fx_rates_daily') }} as tenant_fx
        on tenant_fx.date_day = {{ rows }}.date_day
        and tenant_fx.currency = coalesce(upper(tenants.reporting_currency), '{{ base_currency }}')
{% endmacro %}
