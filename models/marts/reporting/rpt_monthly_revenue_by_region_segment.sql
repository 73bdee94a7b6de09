-- Monthly net revenue and gross margin by the customer's sales region and market segment,
-- as they were when each order was placed.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

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
        cast(count(distinct order_lines.order_id) as integer) as order_count,
        cast(count(*) as integer) as line_count,
        cast(sum(order_lines.net_revenue) as decimal(18, 2)) as net_revenue,
        cast(sum(order_lines.gross_margin) as decimal(18, 2)) as gross_margin
    from order_lines
    inner join customers
        on order_lines.customer_sk = customers.customer_sk
    inner join dates
        on order_lines.order_date = dates.date_day
    group by
        dates.first_day_of_month,
        customers.region_name,
        customers.market_segment_name

)

select * from final
