-- The ERP deliveries of the four historied entities that the history rule did not take as
-- they came (macro out_of_order_deliveries): what an operator checks when the build warns.
with customers as (

    {{ out_of_order_deliveries(ref('stg_erp__customers'), ['customer_id'], 'customers') }}

),

suppliers as (

    {{ out_of_order_deliveries(ref('stg_erp__suppliers'), ['supplier_id'], 'suppliers') }}

),

parts as (

    {{ out_of_order_deliveries(ref('stg_erp__parts'), ['part_id'], 'parts') }}

),

part_suppliers as (

    {{ out_of_order_deliveries(ref('stg_erp__part_suppliers'), ['part_id', 'supplier_id'], 'part_suppliers') }}

),

final as (

    select * from customers
    union all
    select * from suppliers
    union all
    select * from parts
    union all
    select * from part_suppliers

)

select * from final
