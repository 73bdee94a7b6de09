-- Named without the verb; its grain is tested unique but not not_null.
select * from {{ ref('stg_erp__orders') }}
