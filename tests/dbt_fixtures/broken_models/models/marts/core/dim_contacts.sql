-- A core mart reading the staging of a source core does not own.
select * from {{ ref('stg_crm__contacts') }}
