-- The current version of every order and order line, read once from raw and kept for the
-- facts and the calendar: the newest by business date, then batch, then row of the file (as
-- staging's latest_versions picks it), and none when that newest version is a delete.
create unlogged table current_orders as
with ranked as (

    select
        o_orderkey as order_id,
        o_custkey as customer_id,
        o_orderstatus as order_status_code,
        o_orderdate as order_date,
        o_orderpriority as order_priority,
        o_shippriority as ship_priority,
        o_totalprice as order_total_price,
        o_clerk as clerk_name,
        o_comment as order_comment,
        _business_date as source_business_date,
        _op,
        row_number() over (
            partition by o_orderkey
            order by _business_date desc, _batch_id desc, _source_row desc
        ) as version_rank
    from raw.erp_orders

)

select
    order_id,
    customer_id,
    order_status_code,
    order_date,
    order_priority,
    ship_priority,
    order_total_price,
    clerk_name,
    order_comment,
    source_business_date
from ranked
where version_rank = 1 and _op <> 'delete';

-- New tables have no statistics yet, and the joins that read them need some to plan.
analyze current_orders;

create unlogged table current_lines as
with ranked as (

    select
        l_orderkey as order_id,
        l_linenumber as line_number,
        l_partkey as part_id,
        l_suppkey as supplier_id,
        l_quantity as quantity,
        l_extendedprice as extended_price,
        l_discount as discount_rate,
        l_tax as tax_rate,
        l_returnflag as return_flag,
        l_linestatus as line_status,
        l_shipdate as ship_date,
        l_commitdate as commit_date,
        l_receiptdate as receipt_date,
        l_shipmode as ship_mode,
        l_shipinstruct as ship_instructions,
        l_comment as line_comment,
        _business_date as source_business_date,
        _op,
        row_number() over (
            partition by l_orderkey, l_linenumber
            order by _business_date desc, _batch_id desc, _source_row desc
        ) as version_rank
    from raw.erp_order_lines

)

select
    order_id,
    line_number,
    part_id,
    supplier_id,
    quantity,
    extended_price,
    discount_rate,
    tax_rate,
    return_flag,
    line_status,
    ship_date,
    commit_date,
    receipt_date,
    ship_mode,
    ship_instructions,
    line_comment,
    source_business_date
from ranked
where version_rank = 1 and _op <> 'delete';

analyze current_lines;
