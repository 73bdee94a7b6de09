-- TPC-H Q17, asked of the marts: the yearly revenue lost if orders of brand 23's MED BOX
-- parts under a fifth of the part's average quantity were no longer taken.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

parts as (

    select * from {{ ref('dim_parts_current') }}
    where brand = 'Brand#23' and container = 'MED BOX'

),

average_quantities as (

    select
        order_lines.part_id,
        0.2 * avg(order_lines.quantity) as small_quantity
    from order_lines
    inner join parts
        on order_lines.part_id = parts.part_id
    group by order_lines.part_id

),

final as (

    select sum(order_lines.extended_price) / 7.0 as average_yearly_revenue
    from order_lines
    inner join average_quantities
        on order_lines.part_id = average_quantities.part_id
    where order_lines.quantity < average_quantities.small_quantity

)

select * from final
