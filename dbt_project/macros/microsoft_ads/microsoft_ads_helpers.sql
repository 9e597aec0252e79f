{#
    Microsoft Advertising parsing helpers shared by the staging/microsoft_ads models.

    Report rows arrive as the CSV's raw strings: thousands separators ("1,234", "1,234.56"),
    percentages ("2.34%"), "--" where a value is undefined (a ratio over zero, revenue of a row
    without conversions), TimePeriod "yyyy-mm-dd" (daily) or "yyyy-mm-dd|h" (hourly, report format
    version 2.0; the raw tables' report_date key column already holds the day).
#}

{# A report number as numeric; null for "", "--" and absent values. #}
{% macro microsoft_ads_number(value) -%}
    {{ safe_cast("nullif(nullif(replace(btrim(" ~ value ~ "), ',', ''), ''), '--')", "numeric") }}
{%- endmacro %}


{# A report value as plain number text: thousands separators dropped; "" and "--" (undefined) null. #}
{% macro microsoft_ads_text(value) -%}
    nullif(nullif(replace(btrim({{ value }}), ',', ''), ''), '--')
{%- endmacro %}


{# A report metric: a missing or undefined value ("--") counts as zero. #}
{% macro microsoft_ads_metric(value) -%}
    coalesce({{ microsoft_ads_number(value) }}, 0)
{%- endmacro %}


{# A report percentage ("2.34%") as a fraction (0.0234); null when undefined. #}
{% macro microsoft_ads_percent(value) -%}
    round({{ microsoft_ads_number("rtrim(btrim(" ~ value ~ "), '%')") }} / 100, 6)
{%- endmacro %}


{# The local clock hour (0-23) of an hourly report TimePeriod; null for daily ones. #}
{% macro microsoft_ads_time_period_hour(value) -%}
    nullif(split_part({{ value }}, '|', 2), '')::integer
{%- endmacro %}


{# Microsoft's time zone names (Account.TimeZone, ReportTimeZone) as IANA zones; unknown -> null
   so the accounts' tests surface a new name. #}
{% macro microsoft_ads_time_zone_to_iana(time_zone) -%}
    case {{ time_zone }}
        when 'Nukualofa' then 'Pacific/Tongatapu'
        when 'FijiKamchatkaMarshallIsland' then 'Pacific/Fiji'
        when 'AucklandWellington' then 'Pacific/Auckland'
        when 'MagadanSolomonIslandNewCaledonia' then 'Asia/Magadan'
        when 'Vladivostok' then 'Asia/Vladivostok'
        when 'Hobart' then 'Australia/Hobart'
        when 'GuamPortMoresby' then 'Pacific/Port_Moresby'
        when 'CanberraMelbourneSydney' then 'Australia/Sydney'
        when 'Brisbane' then 'Australia/Brisbane'
        when 'Darwin' then 'Australia/Darwin'
        when 'Adelaide' then 'Australia/Adelaide'
        when 'Yakutsk' then 'Asia/Yakutsk'
        when 'Seoul' then 'Asia/Seoul'
        when 'OsakaSapporoTokyo' then 'Asia/Tokyo'
        when 'Taipei' then 'Asia/Taipei'
        when 'Perth' then 'Australia/Perth'
        when 'KualaLumpurSingapore' then 'Asia/Singapore'
        when 'IrkutskUlaanBataar' then 'Asia/Irkutsk'
        when 'BeijingChongqingHongKongUrumqi' then 'Asia/Shanghai'
        when 'Krasnoyarsk' then 'Asia/Krasnoyarsk'
        when 'BangkokHanoiJakarta' then 'Asia/Bangkok'
        when 'Rangoon' then 'Asia/Yangon'
        when 'SriJayawardenepura' then 'Asia/Colombo'
        when 'AstanaDhaka' then 'Asia/Dhaka'
        when 'AlmatyNovosibirsk' then 'Asia/Novosibirsk'
        when 'Kathmandu' then 'Asia/Kathmandu'
        when 'ChennaiKolkataMumbaiNewDelhi' then 'Asia/Kolkata'
        when 'IslandamabadKarachiTashkent' then 'Asia/Karachi'
        when 'Ekaterinburg' then 'Asia/Yekaterinburg'
        when 'Kabul' then 'Asia/Kabul'
        when 'BakuTbilisiYerevan' then 'Asia/Baku'
        when 'AbuDhabiMuscat' then 'Asia/Dubai'
        when 'Tehran' then 'Asia/Tehran'
        when 'Nairobi' then 'Africa/Nairobi'
        when 'MoscowStPetersburgVolgograd' then 'Europe/Moscow'
        when 'KuwaitRiyadh' then 'Asia/Riyadh'
        when 'Baghdad' then 'Asia/Baghdad'
        when 'Jerusalem' then 'Asia/Jerusalem'
        when 'HelsinkiKyivRigaSofiaTallinnVilnius' then 'Europe/Helsinki'
        when 'HararePretoria' then 'Africa/Johannesburg'
        when 'Cairo' then 'Africa/Cairo'
        when 'Bucharest' then 'Europe/Bucharest'
        when 'AthensIslandanbulMinsk' then 'Europe/Athens'
        when 'WestCentralAfrica' then 'Africa/Lagos'
        when 'SarajevoSkopjeWarsawZagreb' then 'Europe/Warsaw'
        when 'BrusselsCopenhagenMadridParis' then 'Europe/Paris'
        when 'BelgradeBratislavaBudapestLjubljanaPrague' then 'Europe/Budapest'
        when 'AmsterdamBerlinBernRomeStockholmVienna' then 'Europe/Berlin'
        when 'CasablancaMonrovia' then 'Africa/Casablanca'
        when 'GreenwichMeanTimeDublinEdinburghLisbonLondon' then 'Europe/London'
        when 'Azores' then 'Atlantic/Azores'
        when 'CapeVerdeIsland' then 'Atlantic/Cape_Verde'
        when 'MidAtlantic' then 'Atlantic/South_Georgia'
        when 'Brasilia' then 'America/Sao_Paulo'
        when 'BuenosAiresGeorgetown' then 'America/Argentina/Buenos_Aires'
        when 'Greenland' then 'America/Nuuk'
        when 'Newfoundland' then 'America/St_Johns'
        when 'AtlanticTimeCanada' then 'America/Halifax'
        when 'CaracasLaPaz' then 'America/Caracas'
        when 'Santiago' then 'America/Santiago'
        when 'BogotaLimaQuito' then 'America/Bogota'
        when 'EasternTimeUSCanada' then 'America/New_York'
        when 'IndianaEast' then 'America/Indiana/Indianapolis'
        when 'CentralAmerica' then 'America/Guatemala'
        when 'CentralTimeUSCanada' then 'America/Chicago'
        when 'GuadalajaraMexicoCityMonterrey' then 'America/Mexico_City'
        when 'Saskatchewan' then 'America/Regina'
        when 'Arizona' then 'America/Phoenix'
        when 'ChihuahuaLaPazMazatlan' then 'America/Mazatlan'
        when 'MountainTimeUSCanada' then 'America/Denver'
        when 'PacificTimeUSCanadaTijuana' then 'America/Los_Angeles'
        when 'Alaska' then 'America/Anchorage'
        when 'Hawaii' then 'Pacific/Honolulu'
        when 'MidwayIslandandSamoa' then 'Pacific/Pago_Pago'
        when 'InternationalDateLineWest' then 'Etc/GMT+12'
    end
{%- endmacro %}


{# The report columns the daily and hourly staging models share, so both grains parse a row
   identically (the hourly-vs-daily reconciliation relies on it). ConversionsQualified is the
   conversion count (the older Conversions column reports 0 since its 2022 deprecation); Revenue
   is the conversion value. #}
{% macro microsoft_ads_report_columns() -%}
    payload ->> 'CampaignId' as campaign_id,
    payload ->> 'AdGroupId' as ad_group_id,
    payload ->> 'AccountName' as account_name,
    payload ->> 'CampaignName' as campaign_name,
    payload ->> 'AdGroupName' as ad_group_name,
    -- Microsoft ads have no name: the report's AdTitle (the first headline) stands in.
    payload ->> 'AdTitle' as ad_name,
    payload ->> 'CampaignType' as campaign_type,
    payload ->> 'AdType' as ad_type,
    upper(payload ->> 'CurrencyCode') as currency,
    {{ metric_number(microsoft_ads_text("payload ->> 'Spend'")) }} as spend,
    {{ metric_count(microsoft_ads_text("payload ->> 'Impressions'")) }} as impressions,
    {{ metric_count(microsoft_ads_text("payload ->> 'Clicks'")) }} as clicks,
    {{ metric_number(microsoft_ads_text("payload ->> 'ConversionsQualified'")) }} as conversions,
    {{ metric_number(microsoft_ads_text("payload ->> 'Revenue'")) }} as conversion_value,
    {{ microsoft_ads_percent("payload ->> 'Ctr'") }} as platform_ctr,
    {{ microsoft_ads_percent("payload ->> 'ConversionRate'") }} as platform_conversion_rate,
    {{ microsoft_ads_number("payload ->> 'AverageCpc'") }} as platform_average_cpc,
    {{ microsoft_ads_number("payload ->> 'ReturnOnAdSpend'") }} as platform_return_on_ad_spend
{%- endmacro %}


{# Microsoft's entity status (campaign, ad group, ad) in the house vocabulary. Paused by the
   budget or suspended by policy counts as PAUSED (not delivering); unknown values stay null. #}
{% macro microsoft_ads_unified_status(status) -%}
    case {{ status }}
        when 'Active' then 'ACTIVE'
        when 'Paused' then 'PAUSED'
        when 'BudgetPaused' then 'PAUSED'
        when 'BudgetAndManualPaused' then 'PAUSED'
        when 'Suspended' then 'PAUSED'
        when 'Expired' then 'PAUSED'
        when 'Inactive' then 'PAUSED'
        when 'Deleted' then 'REMOVED'
    end
{%- endmacro %}


{# A Microsoft Date object ({"Day", "Month", "Year"}) as a date; null when absent. #}
{% macro microsoft_ads_date(json_object) -%}
    case
        when jsonb_typeof({{ json_object }}) = 'object'
            then make_date(
                ({{ json_object }} ->> 'Year')::integer,
                ({{ json_object }} ->> 'Month')::integer,
                ({{ json_object }} ->> 'Day')::integer
            )
    end
{%- endmacro %}
