-- TPC-H Q19, asked of the marts: revenue of air shipments delivered in person for three
-- brand, container, size and quantity bands.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}
    where
        ship_mode in ('AIR', 'AIR REG')
        and ship_instructions = 'DELIVER IN PERSON'

),

parts as (

    select * from {{ ref('dim_parts_current') }}

),

final as (

    select sum(order_lines.net_revenue) as revenue
    from order_lines
    inner join parts
        on order_lines.part_id = parts.part_id
    where
        (
            parts.brand = 'Brand#12'
            and parts.container in ('SM CASE', 'SM BOX', 'SM PACK', 'SM PKG')
            and order_lines.quantity between 1 and 11
            and parts.part_size between 1 and 5
        )
        or (
            parts.brand = 'Brand#23'
            and parts.container in ('MED BAG', 'MED BOX', 'MED PKG', 'MED PACK')
            and order_lines.quantity between 10 and 20
            and parts.part_size between 1 and 10
        )
        or (
            parts.brand = 'Brand#34'
            and parts.container in ('LG CASE', 'LG BOX', 'LG PACK', 'LG PKG')
            and order_lines.quantity between 20 and 30
            and parts.part_size between 1 and 15
        )

)

select * from final
