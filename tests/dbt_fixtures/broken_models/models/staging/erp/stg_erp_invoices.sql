-- Staging that reads models, a seed, a snapshot and two source tables.
with orders as (
    select * from {{ ref('stg_erp__orders') }}
),

statuses as (
    select * from {{ ref('order_status_codes') }}
),

order_history as (
    select * from {{ ref('snap_erp__orders') }}
),

raw_orders as (
    select * from {{ source('erp', 'erp_orders') }}
),

raw_lines as (
    select * from {{ source('erp', 'erp_order_lines') }}
)

select orders.order_id
from orders
inner join statuses on orders.order_status_code = statuses.order_status_code
inner join order_history on orders.order_id = order_history.o_orderkey
inner join raw_orders on orders.order_id = raw_orders.o_orderkey
inner join raw_lines on orders.order_id = raw_lines.l_orderkey
