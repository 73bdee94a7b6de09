-- The carrier's delivery scan and the ERP's receipt date describe the same arrival: the ERP
-- books the receipt on the day of delivery, or later when an order is completed after its
-- goods arrived. A receipt dated before the carrier delivered means the two sources
-- disagree about a shipment; each row returned is one.
select
    tracking_number,
    order_id,
    line_number,
    delivered_date,
    erp_receipt_date
from {{ ref('fct_shipments') }}
where erp_receipt_date < delivered_date
