-- One row per order of the seed, under a contract with a primary key: a constraint other
-- than not-null, which keeps dbt's own create-then-insert on both engines.
select
    cast(order_id as bigint) as order_id,
    cast(amount as decimal(15, 2)) as amount
from {{ ref('order_amounts') }}
