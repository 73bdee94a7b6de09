-- Named like no layer, reads the raw source and another area's staging directly.
{{ config(access='protected', contract={'enforced': false}) }}

with orders as (
    select * from {{ source('erp', 'erp_orders') }}
),

customers as (
    select * from {{ ref('stg_erp__customers') }}
)

select
    orders.o_orderkey as order_id,
    customers.customer_name
from orders
inner join customers on orders.o_custkey = customers.customer_id
