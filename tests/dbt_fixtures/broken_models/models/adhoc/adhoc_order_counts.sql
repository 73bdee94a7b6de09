-- A model outside the staging, intermediate and marts folders.
select count(*) as order_count from {{ ref('fct_orders') }}
