"""Which entities of the ERP's contract the simulator produces, and from which TPC-H table.

Generator knowledge, not contract: the contract (models/staging/erp/_erp__sources.yml,
decision 0028) names only the entities. An entity added to the contract that the simulator
does not produce (a real ERP's invoices) is simply not in generated batches; one the
simulator produces must stay in the contract, or generated batches could not load.
"""

from __future__ import annotations

from elt.entities import Entity
from elt.errors import EltError
from elt.sources import erp_entity

TPCH_TABLE_OF = {
    "regions": "region",
    "nations": "nation",
    "customers": "customer",
    "suppliers": "supplier",
    "parts": "part",
    "part_suppliers": "partsupp",
    "orders": "orders",
    "order_lines": "lineitem",
}


def simulated_entity(name: str) -> Entity:
    entity = erp_entity(name)
    if entity is None:
        raise EltError(
            f"the ERP's contract (models/staging/erp/_erp__sources.yml) has no table erp_{name}, which the "
            "simulator generates; put it back, or generated batches cannot load."
        )
    return entity


def simulated_entities() -> tuple[Entity, ...]:
    return tuple(simulated_entity(name) for name in TPCH_TABLE_OF)
