"""The TPC-H questions in analyses/, asked of the marts, give the official queries' answers over raw.

Each analysis is compiled by dbt (during `elt run`'s docs step) and run on the warehouse;
the official TPC-H query, written here against the raw tables with the ERP's own column
names, runs on the same warehouse. Both must return the same rows.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

OFFICIAL = {
    "tpch_q01_pricing_summary": """
        select l_returnflag, l_linestatus, sum(l_quantity), sum(l_extendedprice),
            sum(l_extendedprice * (1 - l_discount)), sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)),
            avg(l_quantity), avg(l_extendedprice), avg(l_discount), count(*)
        from raw.erp_order_lines
        where l_shipdate <= date '1998-09-02'
        group by l_returnflag, l_linestatus
        order by l_returnflag, l_linestatus""",
    "tpch_q03_shipping_priority": """
        select l_orderkey, o_orderdate, sum(l_extendedprice * (1 - l_discount)) as revenue
        from raw.erp_customers, raw.erp_orders, raw.erp_order_lines
        where c_mktsegment = 'BUILDING' and c_custkey = o_custkey and l_orderkey = o_orderkey
            and o_orderdate < date '1995-03-15' and l_shipdate > date '1995-03-15'
        group by l_orderkey, o_orderdate, o_shippriority
        order by revenue desc, o_orderdate, l_orderkey
        limit 10""",
    "tpch_q05_local_supplier_volume": """
        select n_name, sum(l_extendedprice * (1 - l_discount)) as revenue
        from raw.erp_customers, raw.erp_orders, raw.erp_order_lines, raw.erp_suppliers,
            raw.erp_nations, raw.erp_regions
        where c_custkey = o_custkey and l_orderkey = o_orderkey and l_suppkey = s_suppkey
            and c_nationkey = s_nationkey and s_nationkey = n_nationkey and n_regionkey = r_regionkey
            and r_name = 'ASIA' and o_orderdate >= date '1994-01-01' and o_orderdate < date '1995-01-01'
        group by n_name
        order by revenue desc""",
    "tpch_q06_forecast_revenue_change": """
        select sum(l_extendedprice * l_discount)
        from raw.erp_order_lines
        where l_shipdate >= date '1994-01-01' and l_shipdate < date '1995-01-01'
            and l_discount between 0.05 and 0.07 and l_quantity < 24""",
    "tpch_q10_returned_items": """
        select c_custkey, c_name, c_acctbal, n_name, c_address, c_phone,
            sum(l_extendedprice * (1 - l_discount)) as revenue
        from raw.erp_customers, raw.erp_orders, raw.erp_order_lines, raw.erp_nations
        where c_custkey = o_custkey and l_orderkey = o_orderkey
            and o_orderdate >= date '1993-10-01' and o_orderdate < date '1994-01-01'
            and l_returnflag = 'R' and c_nationkey = n_nationkey
        group by c_custkey, c_name, c_acctbal, c_phone, n_name, c_address, c_comment
        order by revenue desc, c_custkey
        limit 20""",
    "tpch_q12_shipping_modes": """
        select l_shipmode,
            sum(case when o_orderpriority = '1-URGENT' or o_orderpriority = '2-HIGH' then 1 else 0 end),
            sum(case when o_orderpriority <> '1-URGENT' and o_orderpriority <> '2-HIGH' then 1 else 0 end)
        from raw.erp_orders, raw.erp_order_lines
        where o_orderkey = l_orderkey and l_shipmode in ('MAIL', 'SHIP')
            and l_commitdate < l_receiptdate and l_shipdate < l_commitdate
            and l_receiptdate >= date '1994-01-01' and l_receiptdate < date '1995-01-01'
        group by l_shipmode
        order by l_shipmode""",
    "tpch_q14_promotion_effect": """
        select 100.00 * sum(case when p_type like 'PROMO%' then l_extendedprice * (1 - l_discount) else 0 end)
            / sum(l_extendedprice * (1 - l_discount))
        from raw.erp_order_lines, raw.erp_parts
        where l_partkey = p_partkey and l_shipdate >= date '1995-09-01' and l_shipdate < date '1995-10-01'""",
}


def comparable(rows: list[tuple]) -> list[tuple]:
    """Numbers to six decimals (averages come back as float on one engine, numeric on the other)."""

    def value(item):
        if isinstance(item, (int, float, Decimal)) and not isinstance(item, bool):
            return Decimal(str(item)).quantize(Decimal("0.000001"))
        return item

    return [tuple(value(item) for item in row) for row in rows]


@pytest.mark.e2e
def test_each_analysis_matches_the_official_query_over_raw(engine, start_from_built_export) -> None:
    target, workspace, query = engine
    start_from_built_export(target, workspace)
    compiled_dir = workspace.dbt_target_dir / "compiled" / "wholesale" / "analyses"
    analyses = {path.stem for path in compiled_dir.glob("*.sql")}
    assert analyses == OFFICIAL.keys(), "every analysis needs its official query here, and no more"

    for name, official_sql in OFFICIAL.items():
        expected = comparable(query(official_sql))
        assert expected and all(value is not None for value in expected[0]), f"{name}: no answer to compare"
        actual = comparable(query((compiled_dir / f"{name}.sql").read_text()))
        assert actual == expected, name
