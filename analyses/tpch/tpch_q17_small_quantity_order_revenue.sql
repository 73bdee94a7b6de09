-- TPC-H Q17, asked of the marts: the yearly revenue lost if orders of brand 23's MED BOX
-- parts under a fifth of the part's average quantity were no longer taken.
with order_lines as not materialized (

    select * from {{ ref('fct_order_lines') }}

),

parts as (

    select * from {{ ref('dim_parts_current') }}
    where brand = 'Brand#23' and container = 'MED BOX'

),

final as (

    select sum(order_lines.extended_price) / 7.0 as average_yearly_revenue
    from order_lines
    inner join parts
        on order_lines.part_id = parts.part_id
    where
        order_lines.quantity < (
            select 0.2 * avg(part_lines.quantity) as small_quantity
            from order_lines as part_lines
            where part_lines.part_id = parts.part_id
        )

)

select * from final
