-- Its key test also looks for nulls, but only in some rows, so the others go untested.
select
    order_id,
    order_date
from {{ ref('stg_erp__orders') }}
