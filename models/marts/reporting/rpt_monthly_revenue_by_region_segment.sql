-- Monthly net revenue and gross margin by the customer's sales region and market segment,
-- as they were when each order was placed. Money is summed exactly and rounded to the cent
-- only here, where the report presents it.
--
-- Summed from fct_orders, whose rows already total their lines (and each order has one
-- customer version and one date): a quarter of the rows, and no count(distinct order_id)
-- over every line, which was most of this model's time on PostgreSQL.
with orders as (

    select * from {{ ref('fct_orders') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

dates as (

    select * from {{ ref('dim_dates') }}

),

final as (

    select
        dates.first_day_of_month as order_month,
        customers.region_name,
        customers.market_segment_name,
        cast(count(*) as integer) as order_count,
        cast(sum(orders.line_count) as integer) as line_count,
        -- The presentation step: the exact sums, rounded half away from zero to the cent.
        cast(round(sum(orders.net_revenue), 2) as decimal(18, 2)) as net_revenue,
        cast(round(sum(orders.gross_margin), 2) as decimal(18, 2)) as gross_margin
    from orders
    inner join customers
        on orders.customer_sk = customers.customer_sk
    inner join dates
        on orders.order_date = dates.date_day
    group by
        dates.first_day_of_month,
        customers.region_name,
        customers.market_segment_name

)

select * from final
