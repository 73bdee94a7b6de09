"""The ERP extract contract: one entry per entity the ERP exports.

Landing files keep the ERP's own column names (TPC-H's `c_custkey`, ...); renaming to the
warehouse's vocabulary is the staging layer's job. Types are written so they are valid in
both DuckDB and PostgreSQL, because the same DDL creates raw tables on both engines.
"""

from __future__ import annotations

from dataclasses import dataclass

BIGINT = "bigint"
INTEGER = "integer"
MONEY = "decimal(15, 2)"
DATE = "date"
TEXT = "varchar"


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    required: bool = True
    # A SQL predicate over the typed value (`{col}` is replaced by the column); rows
    # breaking it are quarantined, not loaded.
    check: str | None = None
    check_reason: str | None = None


@dataclass(frozen=True)
class Entity:
    name: str
    tpch_table: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str

    @property
    def raw_table(self) -> str:
        return f"erp_{self.name}"

    @property
    def file_name(self) -> str:
        return f"{self.name}.parquet"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


def _non_negative(name: str) -> Column:
    return Column(name, MONEY, check="{col} >= 0", check_reason="must not be negative")


def _rate(name: str) -> Column:
    return Column(name, MONEY, check="{col} between 0 and 1", check_reason="must be between 0 and 1")


def _date(name: str) -> Column:
    # Years 1 to 9999: what both engines, ISO 8601 text and Python's date hold alike. DuckDB
    # takes dates up to year 5881580, PostgreSQL only to 5874897, and a driver returns neither.
    return Column(
        name,
        DATE,
        check="{col} between date '0001-01-01' and date '9999-12-31'",
        check_reason="must be between 0001-01-01 and 9999-12-31",
    )


ENTITIES: tuple[Entity, ...] = (
    Entity(
        name="regions",
        tpch_table="region",
        key=("r_regionkey",),
        description="Sales regions.",
        columns=(
            Column("r_regionkey", BIGINT),
            Column("r_name", TEXT),
            Column("r_comment", TEXT, required=False),
        ),
    ),
    Entity(
        name="nations",
        tpch_table="nation",
        key=("n_nationkey",),
        description="Countries, each in one region.",
        columns=(
            Column("n_nationkey", BIGINT),
            Column("n_name", TEXT),
            Column("n_regionkey", BIGINT),
            Column("n_comment", TEXT, required=False),
        ),
    ),
    Entity(
        name="customers",
        tpch_table="customer",
        key=("c_custkey",),
        description="Customer accounts.",
        columns=(
            Column("c_custkey", BIGINT),
            Column("c_name", TEXT),
            Column("c_address", TEXT),
            Column("c_nationkey", BIGINT),
            Column("c_phone", TEXT),
            Column("c_acctbal", MONEY),
            Column("c_mktsegment", TEXT),
            Column("c_comment", TEXT, required=False),
        ),
    ),
    Entity(
        name="suppliers",
        tpch_table="supplier",
        key=("s_suppkey",),
        description="Suppliers the business buys parts from.",
        columns=(
            Column("s_suppkey", BIGINT),
            Column("s_name", TEXT),
            Column("s_address", TEXT),
            Column("s_nationkey", BIGINT),
            Column("s_phone", TEXT),
            Column("s_acctbal", MONEY),
            Column("s_comment", TEXT, required=False),
        ),
    ),
    Entity(
        name="parts",
        tpch_table="part",
        key=("p_partkey",),
        description="The parts catalogue.",
        columns=(
            Column("p_partkey", BIGINT),
            Column("p_name", TEXT),
            Column("p_mfgr", TEXT),
            Column("p_brand", TEXT),
            Column("p_type", TEXT),
            Column("p_size", INTEGER, check="{col} > 0", check_reason="must be positive"),
            Column("p_container", TEXT),
            _non_negative("p_retailprice"),
            Column("p_comment", TEXT, required=False),
        ),
    ),
    Entity(
        name="part_suppliers",
        tpch_table="partsupp",
        key=("ps_partkey", "ps_suppkey"),
        description="Which supplier offers which part, at what cost and availability.",
        columns=(
            Column("ps_partkey", BIGINT),
            Column("ps_suppkey", BIGINT),
            Column("ps_availqty", INTEGER, check="{col} >= 0", check_reason="must not be negative"),
            _non_negative("ps_supplycost"),
            Column("ps_comment", TEXT, required=False),
        ),
    ),
    Entity(
        name="orders",
        tpch_table="orders",
        key=("o_orderkey",),
        description="Customer orders (headers).",
        columns=(
            Column("o_orderkey", BIGINT),
            Column("o_custkey", BIGINT),
            Column("o_orderstatus", TEXT, check="{col} in ('F', 'O', 'P')", check_reason="must be F, O or P"),
            _non_negative("o_totalprice"),
            _date("o_orderdate"),
            Column("o_orderpriority", TEXT),
            Column("o_clerk", TEXT),
            Column("o_shippriority", INTEGER),
            Column("o_comment", TEXT, required=False),
        ),
    ),
    Entity(
        name="order_lines",
        tpch_table="lineitem",
        key=("l_orderkey", "l_linenumber"),
        description="Order lines: one part, quantity and price on an order.",
        columns=(
            Column("l_orderkey", BIGINT),
            Column("l_partkey", BIGINT),
            Column("l_suppkey", BIGINT),
            Column("l_linenumber", INTEGER),
            Column("l_quantity", MONEY, check="{col} > 0", check_reason="must be positive"),
            _non_negative("l_extendedprice"),
            _rate("l_discount"),
            _rate("l_tax"),
            Column("l_returnflag", TEXT),
            Column("l_linestatus", TEXT),
            _date("l_shipdate"),
            _date("l_commitdate"),
            _date("l_receiptdate"),
            Column("l_shipinstruct", TEXT),
            Column("l_shipmode", TEXT),
            Column("l_comment", TEXT, required=False),
        ),
    ),
)

ENTITIES_BY_NAME: dict[str, Entity] = {entity.name: entity for entity in ENTITIES}

# A change batch's per-row operation (insert, update, delete); an export has no such column.
OP_COLUMN = "_op"

# Columns the loader adds to every raw row: where it came from and what it did.
METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_batch_id", TEXT),
    ("_business_date", DATE),
    ("_op", TEXT),
    ("_source_file", TEXT),
    ("_source_row", BIGINT),
    ("_loaded_at", "timestamp"),
    ("_row_hash", BIGINT),
)
