{#
    SCD type-2 history derived from an append-only history of deliveries (decision 0022).

    Raw keeps every version of every record the source delivered, with its business date,
    batch, file row and operation (insert, update, delete). The history of a key is those
    versions in effect order, which is delivery order with one exception:

    - A key's first insert is its creation and comes before everything else delivered for
      the key, wherever it arrived: an update delivered a day before its insert is a later
      change of that record, not something the late insert overwrites.
    - Otherwise versions follow business date, then batch id (batch ids sort by business
      date and, within a day, in delivery order), then the row in the file.
    - Of several versions of a key on one business date only the last is the day's state;
      the earlier ones never were valid at the end of a day, so they get no range.
    - A delete closes the version before it on its business date; a delete of a key with
      nothing before it closes nothing.

    Nothing depends on when or how often it is built: the same raw rows give the same
    history, so catching up ten days in one build equals ten daily builds.
#}


{#-
    The date a delivered version takes effect in the key's history: its business date, or
    1900-01-01 for the key's first insert, so that insert sorts first. `operation` and
    `business_date` name the columns (raw's _op and _business_date, or staging's names).
-#}
{% macro effective_date(key_columns, alias, operation, business_date) -%}
    case
        when {{ alias }}.{{ operation }} = 'insert'
            and {{ alias }}.{{ business_date }} = min(
                case when {{ alias }}.{{ operation }} = 'insert' then {{ alias }}.{{ business_date }} end
            ) over (partition by {% for key in key_columns %}{{ alias }}.{{ key }}{{ ", " if not loop.last }}{% endfor %})
            then cast('1900-01-01' as date)
        else cast({{ alias }}.{{ business_date }} as date)
    end
{%- endmacro %}


{#- A staging model's deliveries, each with its effective date. -#}
{% macro dated_deliveries(relation, key_columns) -%}
    select
        deliveries.*,
        {{ effective_date(key_columns, 'deliveries', 'change_operation', 'source_business_date') }} as effective_date
    from {{ relation }} as deliveries
{%- endmacro %}


{#- 1 for the last delivery of a key on its effective date: the latest batch, then file row. -#}
{% macro rank_in_day(keys) -%}
    row_number() over (
        partition by {{ keys }}, dated.effective_date
        order by dated.source_batch_id desc, dated.source_row desc
    )
{%- endmacro %}


{#
    Every version of each key of a staging model that lists all deliveries, with
    effective_date, valid_from and valid_to as a half-open range [valid_from, valid_to):
    on the day a record changes exactly one version matches. The first version of a key
    is valid from 1900-01-01 (the warehouse first sees a record when it is exported, and
    that version stands for its past, so an old order finds its customer); the last one
    runs to 9999-12-31. Tombstones are returned too (is_deleted): the caller drops them
    after they have closed the version before them.

    The staging model provides change_operation, source_business_date, source_batch_id and
    source_row besides its key columns and is_deleted.
#}
{% macro scd2_versions(relation, key_columns) -%}
    {%- set keys = key_columns | join(', ') -%}
    select
        last_of_day.*,
        case
            when row_number() over (partition by {{ keys }} order by last_of_day.effective_date) = 1
                then cast('1900-01-01' as date)
            else last_of_day.effective_date
        end as valid_from,
        coalesce(
            lead(last_of_day.effective_date) over (partition by {{ keys }} order by last_of_day.effective_date),
            cast('9999-12-31' as date)
        ) as valid_to
    from (
        select
            dated.*,
            {{ rank_in_day(keys) }} as rank_in_day
        from ({{ dated_deliveries(relation, key_columns) }}) as dated
    ) as last_of_day
    where last_of_day.rank_in_day = 1
{%- endmacro %}


{#
    The deliveries the history rule above does not take as they came, one row each with
    the rule that applied: for the operator, who sees them as a warning of the build.
    - insert_after_update: an insert delivered after an update of its key; it became the
      key's first version and the update stays a later change.
    - delete_of_unknown_key: a delete of a key with no version before it; it closed nothing.
    - superseded_same_day: a later delivery of the same business date replaced it; it has
      no validity range of its own.
#}
{% macro out_of_order_deliveries(relation, key_columns, entity) -%}
    {%- set keys = key_columns | join(', ') -%}
    {%- set key_text -%}
        {%- for key in key_columns -%}
            {{ " || '|' || " if not loop.first }}cast(ranked.{{ key }} as {{ string_type() }})
        {%- endfor -%}
    {%- endset -%}
    select
        cast('{{ entity }}' as {{ string_type() }}) as entity,
        cast({{ key_text }} as {{ string_type() }}) as record_key,
        ranked.source_batch_id,
        ranked.source_row,
        ranked.source_business_date,
        ranked.change_operation,
        cast(
            case
                when ranked.rank_in_day > 1 then 'superseded_same_day'
                when ranked.change_operation = 'delete' and ranked.effect_rank = 1 then 'delete_of_unknown_key'
                else 'insert_after_update'
            end
            as {{ string_type() }}
        ) as rule_applied
    from (
        select
            dated.*,
            {{ rank_in_day(keys) }} as rank_in_day,
            row_number() over (
                partition by {{ keys }}
                order by dated.effective_date, dated.source_batch_id, dated.source_row
            ) as effect_rank,
            row_number() over (
                partition by {{ keys }}
                order by dated.source_business_date, dated.source_batch_id, dated.source_row
            ) as delivery_rank
        from ({{ dated_deliveries(relation, key_columns) }}) as dated
    ) as ranked
    where
        ranked.rank_in_day > 1
        or (ranked.change_operation = 'delete' and ranked.effect_rank = 1)
        or (ranked.change_operation = 'insert' and ranked.effect_rank = 1 and ranked.delivery_rank > 1)
{%- endmacro %}


{#
    For an incremental fact's run: a condition on its lines (customer_id, part_id,
    supplier_id) that holds for the lines of every record whose history gained a version in
    the past since `since` (a date literal, the run's window start): an insert delivered
    after its key's updates (insert_after_update) splits the version those updates had into
    two, so lines ordered after the update join a different version than before, however
    old they are. None when there are none, which is every day of a feed in order; the
    keys are read before the model's SQL, as literals (decision 0019).
#}
{% macro lines_whose_history_moved_back(since) -%}
    {%- if not execute or since is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set moved = run_query(
        "select entity, record_key from " ~ ref('int_deliveries__out_of_order')
        ~ " where rule_applied = 'insert_after_update' and source_business_date >= " ~ since
        ~ " order by entity, record_key"
    ) -%}
    {%- set text = string_type() -%}
    {%- set key_text = {
        'customers': "cast(customer_id as " ~ text ~ ")",
        'parts': "cast(part_id as " ~ text ~ ")",
        'suppliers': "cast(supplier_id as " ~ text ~ ")",
        'part_suppliers': "cast(part_id as " ~ text ~ ") || '|' || cast(supplier_id as " ~ text ~ ")",
    } -%}
    {%- set keys_by_entity = {} -%}
    {%- for entity, record_key in moved.rows -%}
        {%- do keys_by_entity.setdefault(entity, []).append("'" ~ record_key | replace("'", "''") ~ "'") -%}
    {%- endfor -%}
    {%- set conditions = [] -%}
    {%- for entity, keys in keys_by_entity | dictsort -%}
        {%- do conditions.append(key_text[entity] ~ ' in (' ~ keys | join(', ') ~ ')') -%}
    {%- endfor -%}
    {{ return(conditions | join(' or ') if conditions else none) }}
{%- endmacro %}
