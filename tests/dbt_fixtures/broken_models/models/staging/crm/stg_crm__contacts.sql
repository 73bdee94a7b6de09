-- Rows typed in by hand: a staging model with no source behind it.
select 1 as contact_id, 'Ada' as contact_name
