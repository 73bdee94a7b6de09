-- The dimensions. Seed rows (ISO codes, segment names) are written inline: the reference
-- needs nothing but raw, so it runs on a warehouse dbt has never seen.
--
-- SCD type 2 from raw, as the dbt models derive it (decision 0022): a record gets one
-- version per business date on which raw holds a row for it (the newest that day), valid
-- until the date of its next version. A delete (tombstone) only ends the version before
-- it. A key's first version is valid from 1900-01-01, its last one to 9999-12-31.
-- The models' first-insert-first rule is left out: the generated feeds never deliver an
-- update before its insert, so it changes nothing the bench times.
create table reference_marts.dim_geography as
with nation_versions as (

    select
        n_nationkey as nation_id,
        n_name as nation_name,
        n_regionkey as region_id,
        _op,
        row_number() over (
            partition by n_nationkey
            order by _business_date desc, _batch_id desc, _source_row desc
        ) as version_rank
    from raw.erp_nations

),

region_versions as (

    select
        r_regionkey as region_id,
        r_name as region_name,
        _op,
        row_number() over (
            partition by r_regionkey
            order by _business_date desc, _batch_id desc, _source_row desc
        ) as version_rank
    from raw.erp_regions

),

regions as (

    select
        region_id,
        region_name
    from region_versions
    where version_rank = 1 and _op <> 'delete'

),

-- The seed nation_iso_codes.
iso_codes (nation_name, iso_alpha2, iso_alpha3, iso_numeric) as (

    values
    ('ALGERIA', 'DZ', 'DZA', '012'),
    ('ARGENTINA', 'AR', 'ARG', '032'),
    ('BRAZIL', 'BR', 'BRA', '076'),
    ('CANADA', 'CA', 'CAN', '124'),
    ('CHINA', 'CN', 'CHN', '156'),
    ('EGYPT', 'EG', 'EGY', '818'),
    ('ETHIOPIA', 'ET', 'ETH', '231'),
    ('FRANCE', 'FR', 'FRA', '250'),
    ('GERMANY', 'DE', 'DEU', '276'),
    ('INDIA', 'IN', 'IND', '356'),
    ('INDONESIA', 'ID', 'IDN', '360'),
    ('IRAN', 'IR', 'IRN', '364'),
    ('IRAQ', 'IQ', 'IRQ', '368'),
    ('JAPAN', 'JP', 'JPN', '392'),
    ('JORDAN', 'JO', 'JOR', '400'),
    ('KENYA', 'KE', 'KEN', '404'),
    ('MOROCCO', 'MA', 'MAR', '504'),
    ('MOZAMBIQUE', 'MZ', 'MOZ', '508'),
    ('PERU', 'PE', 'PER', '604'),
    ('ROMANIA', 'RO', 'ROU', '642'),
    ('RUSSIA', 'RU', 'RUS', '643'),
    ('SAUDI ARABIA', 'SA', 'SAU', '682'),
    ('UNITED KINGDOM', 'GB', 'GBR', '826'),
    ('UNITED STATES', 'US', 'USA', '840'),
    ('VIETNAM', 'VN', 'VNM', '704')

),

known as (

    select
        nation_versions.nation_id,
        nation_versions.nation_name,
        -- Typed as the seed is: PostgreSQL would keep the literals as text.
        cast(iso_codes.iso_alpha2 as varchar) as iso_alpha2,
        cast(iso_codes.iso_alpha3 as varchar) as iso_alpha3,
        cast(iso_codes.iso_numeric as varchar) as iso_numeric,
        regions.region_id,
        regions.region_name
    from nation_versions
    left join regions
        on nation_versions.region_id = regions.region_id
    left join iso_codes
        on nation_versions.nation_name = iso_codes.nation_name
    where nation_versions.version_rank = 1 and nation_versions._op <> 'delete'

),

unknown_member as (

    select
        cast(-1 as bigint) as nation_id,
        cast('Unknown' as varchar) as nation_name,
        cast(null as varchar) as iso_alpha2,
        cast(null as varchar) as iso_alpha3,
        cast(null as varchar) as iso_numeric,
        cast(-1 as bigint) as region_id,
        cast('Unknown' as varchar) as region_name

)

select * from known
union all
select * from unknown_member;

create table reference_marts.dim_customers as
with daily_versions as (

    select
        c_custkey as customer_id,
        c_name as customer_name,
        c_address as customer_address,
        c_phone as customer_phone,
        c_mktsegment as market_segment,
        c_acctbal as account_balance,
        c_comment as customer_comment,
        c_nationkey as nation_id,
        _business_date as version_date,
        _op = 'delete' as is_deleted,
        row_number() over (
            partition by c_custkey, _business_date
            order by _batch_id desc, _source_row desc
        ) as rank_in_day
    from raw.erp_customers

),

ranged as (

    select
        *,
        lead(version_date, 1, cast('9999-12-31' as date)) over (
            partition by customer_id order by version_date
        ) as valid_to
    from daily_versions
    where rank_in_day = 1

),

versions as (

    select
        *,
        case
            when row_number() over (partition by customer_id order by version_date) = 1
                then cast('1900-01-01' as date)
            else version_date
        end as valid_from
    from ranged
    where not is_deleted

),

-- The seed market_segments.
segments (market_segment, segment_name) as (

    values
    ('AUTOMOBILE', 'Automotive'),
    ('BUILDING', 'Building'),
    ('FURNITURE', 'Furniture'),
    ('HOUSEHOLD', 'Household'),
    ('MACHINERY', 'Machinery')

),

known as (

    select
        cast(
            '0x' || substr(md5(
                coalesce(cast(versions.customer_id as varchar), '_null_')
                || '|'
                || coalesce(cast(versions.valid_from as varchar), '_null_')
            ), 1, 15) as bigint
        ) as customer_sk,
        versions.customer_id,
        versions.customer_name,
        versions.customer_address,
        versions.customer_phone,
        versions.market_segment,
        cast(segments.segment_name as varchar) as market_segment_name,
        versions.account_balance,
        versions.customer_comment,
        versions.nation_id,
        nations.nation_name,
        nations.region_name,
        versions.valid_from,
        versions.valid_to,
        versions.valid_to = cast('9999-12-31' as date) as is_current
    from versions
    left join reference_marts.dim_geography as nations
        on versions.nation_id = nations.nation_id
    left join segments
        on versions.market_segment = segments.market_segment

),

unknown_member as (

    select
        cast(-1 as bigint) as customer_sk,
        cast(-1 as bigint) as customer_id,
        cast('Unknown customer' as varchar) as customer_name,
        cast(null as varchar) as customer_address,
        cast(null as varchar) as customer_phone,
        cast(null as varchar) as market_segment,
        cast('Unknown' as varchar) as market_segment_name,
        cast(null as decimal(15, 2)) as account_balance,
        cast(null as varchar) as customer_comment,
        cast(-1 as bigint) as nation_id,
        cast('Unknown' as varchar) as nation_name,
        cast('Unknown' as varchar) as region_name,
        cast('1900-01-01' as date) as valid_from,
        cast('9999-12-31' as date) as valid_to,
        true as is_current

)

select * from known
union all
select * from unknown_member;

create table reference_marts.dim_suppliers as
with daily_versions as (

    select
        s_suppkey as supplier_id,
        s_name as supplier_name,
        s_address as supplier_address,
        s_phone as supplier_phone,
        s_acctbal as account_balance,
        s_comment as supplier_comment,
        s_nationkey as nation_id,
        _business_date as version_date,
        _op = 'delete' as is_deleted,
        row_number() over (
            partition by s_suppkey, _business_date
            order by _batch_id desc, _source_row desc
        ) as rank_in_day
    from raw.erp_suppliers

),

ranged as (

    select
        *,
        lead(version_date, 1, cast('9999-12-31' as date)) over (
            partition by supplier_id order by version_date
        ) as valid_to
    from daily_versions
    where rank_in_day = 1

),

versions as (

    select
        *,
        case
            when row_number() over (partition by supplier_id order by version_date) = 1
                then cast('1900-01-01' as date)
            else version_date
        end as valid_from
    from ranged
    where not is_deleted

),

known as (

    select
        cast(
            '0x' || substr(md5(
                coalesce(cast(versions.supplier_id as varchar), '_null_')
                || '|'
                || coalesce(cast(versions.valid_from as varchar), '_null_')
            ), 1, 15) as bigint
        ) as supplier_sk,
        versions.supplier_id,
        versions.supplier_name,
        versions.supplier_address,
        versions.supplier_phone,
        versions.account_balance,
        versions.supplier_comment,
        versions.nation_id,
        nations.nation_name,
        nations.region_name,
        versions.valid_from,
        versions.valid_to,
        versions.valid_to = cast('9999-12-31' as date) as is_current
    from versions
    left join reference_marts.dim_geography as nations
        on versions.nation_id = nations.nation_id

),

unknown_member as (

    select
        cast(-1 as bigint) as supplier_sk,
        cast(-1 as bigint) as supplier_id,
        cast('Unknown supplier' as varchar) as supplier_name,
        cast(null as varchar) as supplier_address,
        cast(null as varchar) as supplier_phone,
        cast(null as decimal(15, 2)) as account_balance,
        cast(null as varchar) as supplier_comment,
        cast(-1 as bigint) as nation_id,
        cast('Unknown' as varchar) as nation_name,
        cast('Unknown' as varchar) as region_name,
        cast('1900-01-01' as date) as valid_from,
        cast('9999-12-31' as date) as valid_to,
        true as is_current

)

select * from known
union all
select * from unknown_member;

create table reference_marts.dim_parts as
with daily_versions as (

    select
        p_partkey as part_id,
        p_name as part_name,
        p_mfgr as manufacturer,
        p_brand as brand,
        p_type as part_type,
        p_size as part_size,
        p_container as container,
        p_retailprice as retail_price,
        p_comment as part_comment,
        _business_date as version_date,
        _op = 'delete' as is_deleted,
        row_number() over (
            partition by p_partkey, _business_date
            order by _batch_id desc, _source_row desc
        ) as rank_in_day
    from raw.erp_parts

),

ranged as (

    select
        *,
        lead(version_date, 1, cast('9999-12-31' as date)) over (
            partition by part_id order by version_date
        ) as valid_to
    from daily_versions
    where rank_in_day = 1

),

versions as (

    select
        *,
        case
            when row_number() over (partition by part_id order by version_date) = 1
                then cast('1900-01-01' as date)
            else version_date
        end as valid_from
    from ranged
    where not is_deleted

),

known as (

    select
        cast(
            '0x' || substr(md5(
                coalesce(cast(part_id as varchar), '_null_')
                || '|'
                || coalesce(cast(valid_from as varchar), '_null_')
            ), 1, 15) as bigint
        ) as part_sk,
        part_id,
        part_name,
        manufacturer,
        brand,
        part_type,
        part_size,
        container,
        retail_price,
        part_comment,
        valid_from,
        valid_to,
        valid_to = cast('9999-12-31' as date) as is_current
    from versions

),

unknown_member as (

    select
        cast(-1 as bigint) as part_sk,
        cast(-1 as bigint) as part_id,
        cast('Unknown part' as varchar) as part_name,
        cast(null as varchar) as manufacturer,
        cast(null as varchar) as brand,
        cast(null as varchar) as part_type,
        cast(null as integer) as part_size,
        cast(null as varchar) as container,
        cast(null as decimal(15, 2)) as retail_price,
        cast(null as varchar) as part_comment,
        cast('1900-01-01' as date) as valid_from,
        cast('9999-12-31' as date) as valid_to,
        true as is_current

)

select * from known
union all
select * from unknown_member;

-- Every version of every supplier offer (units available, supply cost): the same history
-- as the dimensions, keyed by (part, supplier).
create table reference_marts.dim_supplier_offers as
with daily_versions as (

    select
        ps_partkey as part_id,
        ps_suppkey as supplier_id,
        ps_availqty as available_quantity,
        ps_supplycost as supply_cost,
        ps_comment as offer_comment,
        _business_date as version_date,
        _op = 'delete' as is_deleted,
        row_number() over (
            partition by ps_partkey, ps_suppkey, _business_date
            order by _batch_id desc, _source_row desc
        ) as rank_in_day
    from raw.erp_part_suppliers

),

ranged as (

    select
        *,
        lead(version_date, 1, cast('9999-12-31' as date)) over (
            partition by part_id, supplier_id order by version_date
        ) as valid_to
    from daily_versions
    where rank_in_day = 1

),

versions as (

    select
        *,
        case
            when row_number() over (partition by part_id, supplier_id order by version_date) = 1
                then cast('1900-01-01' as date)
            else version_date
        end as valid_from
    from ranged
    where not is_deleted

)

select
    cast(
        '0x' || substr(md5(
            coalesce(cast(part_id as varchar), '_null_')
            || '|'
            || coalesce(cast(supplier_id as varchar), '_null_')
            || '|'
            || coalesce(cast(valid_from as varchar), '_null_')
        ), 1, 15) as bigint
    ) as supplier_offer_sk,
    part_id,
    supplier_id,
    available_quantity,
    supply_cost,
    offer_comment,
    valid_from,
    valid_to,
    valid_to = cast('9999-12-31' as date) as is_current
from versions;

-- What each supplier charged for each part, version by version, for the facts' gross margin.
create temp table supply_cost_versions as
select
    part_id,
    supplier_id,
    supply_cost,
    valid_from,
    valid_to
from reference_marts.dim_supplier_offers;

create view reference_marts.dim_customers_current as
select
    customer_sk,
    customer_id,
    customer_name,
    customer_address,
    customer_phone,
    market_segment,
    market_segment_name,
    account_balance,
    customer_comment,
    nation_id,
    nation_name,
    region_name,
    valid_from,
    valid_to,
    is_current
from reference_marts.dim_customers
where is_current and customer_id <> -1;

create view reference_marts.dim_suppliers_current as
select
    supplier_sk,
    supplier_id,
    supplier_name,
    supplier_address,
    supplier_phone,
    account_balance,
    supplier_comment,
    nation_id,
    nation_name,
    region_name,
    valid_from,
    valid_to,
    is_current
from reference_marts.dim_suppliers
where is_current and supplier_id <> -1;

create view reference_marts.dim_supplier_offers_current as
select
    supplier_offer_sk,
    part_id,
    supplier_id,
    available_quantity,
    supply_cost,
    offer_comment,
    valid_from,
    valid_to,
    is_current
from reference_marts.dim_supplier_offers
where is_current;

create view reference_marts.dim_parts_current as
select
    part_sk,
    part_id,
    part_name,
    manufacturer,
    brand,
    part_type,
    part_size,
    container,
    retail_price,
    part_comment,
    valid_from,
    valid_to,
    is_current
from reference_marts.dim_parts
where is_current and part_id <> -1;
