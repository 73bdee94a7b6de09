-- TPC-H Q21, asked of the marts: Saudi suppliers who alone delivered late on fulfilled
-- orders that other suppliers also served, by how many such lines.
with order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

suppliers as (

    select * from {{ ref('dim_suppliers_current') }}

),

late_lines as (

    select
        order_id,
        supplier_id
    from order_lines
    where
        order_status_code = 'F'
        and receipt_date > commit_date

),

final as (

    select
        suppliers.supplier_name,
        count(*) as waiting_line_count
    from late_lines
    inner join suppliers
        on late_lines.supplier_id = suppliers.supplier_id
    where
        suppliers.nation_name = 'SAUDI ARABIA'
        and exists (
            select other_lines.order_id
            from order_lines as other_lines
            where
                other_lines.order_id = late_lines.order_id
                and other_lines.supplier_id <> late_lines.supplier_id
        )
        and not exists (
            select other_late_lines.order_id
            from order_lines as other_late_lines
            where
                other_late_lines.order_id = late_lines.order_id
                and other_late_lines.supplier_id <> late_lines.supplier_id
                and other_late_lines.receipt_date > other_late_lines.commit_date
        )
    group by suppliers.supplier_name

)

select * from final
order by
    waiting_line_count desc,
    supplier_name asc
limit 100
