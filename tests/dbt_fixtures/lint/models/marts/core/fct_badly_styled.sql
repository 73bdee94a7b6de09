-- A model against the style of STYLE.md, kept for tests/python/test_lint.py: uppercase
-- keywords, implicit aliases, a nested subquery, a leading comma, an unqualified column.
SELECT O.order_id
    , Max(L.net_revenue) Revenue
FROM (select * from {{ ref('stg_erp__orders') }}) O
JOIN {{ ref('fct_order_lines') }} L ON O.order_id = L.order_id
GROUP BY 1
