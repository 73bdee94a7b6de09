-- The fact's quantity, net revenue (exact, unrounded) and order count, and fct_orders' order
-- count, equal what the raw layer holds: the latest version of every order line that is
-- not deleted and whose order exists and is not deleted, computed here straight from raw,
-- without staging's macros.
with raw_lines as (

    select
        l_orderkey,
        l_linenumber,
        l_quantity,
        l_extendedprice,
        l_discount,
        _op,
        row_number() over (
            partition by l_orderkey, l_linenumber
            order by _business_date desc, _batch_id desc, _source_row desc
        ) as newest_first
    from {{ source('erp', 'erp_order_lines') }}

),

raw_orders as (

    select
        o_orderkey,
        _op,
        row_number() over (
            partition by o_orderkey
            order by _business_date desc, _batch_id desc, _source_row desc
        ) as newest_first
    from {{ source('erp', 'erp_orders') }}

),

expected as (

    select
        sum(raw_lines.l_quantity) as total_quantity,
        sum(raw_lines.l_extendedprice * (1 - raw_lines.l_discount)) as total_net_revenue,
        count(distinct raw_lines.l_orderkey) as order_count
    from raw_lines
    inner join raw_orders
        on raw_lines.l_orderkey = raw_orders.o_orderkey
    where
        raw_lines.newest_first = 1
        and raw_lines._op <> 'delete'
        and raw_orders.newest_first = 1
        and raw_orders._op <> 'delete'

),

actual as (

    select
        sum(quantity) as total_quantity,
        sum(net_revenue) as total_net_revenue,
        count(distinct order_id) as order_count
    from {{ ref('fct_order_lines') }}

),

order_facts as (

    select count(*) as order_count
    from {{ ref('fct_orders') }}

)

select
    expected.total_quantity as expected_quantity,
    actual.total_quantity as actual_quantity,
    expected.total_net_revenue as expected_net_revenue,
    actual.total_net_revenue as actual_net_revenue,
    expected.order_count as expected_order_count,
    actual.order_count as actual_order_count,
    order_facts.order_count as fct_orders_count
from expected
cross join actual
cross join order_facts
where
    expected.total_quantity <> actual.total_quantity
    or expected.total_net_revenue <> actual.total_net_revenue
    or expected.order_count <> actual.order_count
    or expected.order_count <> order_facts.order_count
