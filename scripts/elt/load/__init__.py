"""Loading landed batches into the warehouse's raw and audit schemas."""
