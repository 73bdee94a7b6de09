-- TPC-H Q1, asked of the marts: quantities, prices and charges of the lines shipped up to
-- 90 days before 1998-12-01, by return flag and line status.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}
    where ship_date <= date '1998-09-02'

),

final as (

    select
        return_flag,
        line_status,
        sum(quantity) as sum_quantity,
        sum(extended_price) as sum_base_price,
        sum(net_revenue) as sum_discounted_price,
        sum(net_revenue * (1 + tax_rate)) as sum_charge,
        avg(quantity) as average_quantity,
        avg(extended_price) as average_price,
        avg(discount_rate) as average_discount,
        count(*) as line_count
    from order_lines
    group by
        return_flag,
        line_status

)

select * from final
order by
    return_flag,
    line_status
