-- The hand-written reference for `elt bench`: the marts dbt builds in `marts`, built here in
-- `reference_marts` straight from raw.erp_* with no dbt, no snapshots and no staging views.
-- The files run in name order on one connection; each rebuilds what the next ones read.
drop schema if exists reference_marts cascade;

create schema reference_marts;
