{#- A model's (or seed's) row rules in one test node: its key is unique, these columns are never null, these
    columns hold only the accepted values, these expressions hold on every row. One node instead of one per rule:
    dbt spends 30-40 ms of Python per test node whatever its SQL, and in `dbt build` each test gates its model's
    children (README, "dbt tests"). Fails with one row per offending row and rule: `rule` names the rule,
    `failing_row` is the row as JSON (for the key, the duplicated key and its occurrences). The column rules are
    one scan: the disjunction of the rules filters the scan, and only the offending rows are expanded per rule.
    Nulls follow dbt's tests: a null is not an unaccepted value, and an expression that is null does not fail. -#}
{% test row_rules(model, key=none, not_null=[], accepted_values={}, expressions=[]) %}
{#- A string where a list belongs would be read character by character (Jinja iterates strings): refuse it. -#}
{%- for argument, value in [('key', key or []), ('not_null', not_null), ('expressions', expressions)]
                           + (accepted_values.items() | list if accepted_values is mapping else []) -%}
  {%- if value is string or value is not sequence -%}
    {{ exceptions.raise_compiler_error("row_rules on " ~ model ~ ": " ~ argument ~ " must be a list, got " ~ value) }}
  {%- endif -%}
{%- endfor -%}
{%- if accepted_values is not mapping -%}
  {{ exceptions.raise_compiler_error("row_rules on " ~ model ~ ": accepted_values must map columns to lists") }}
{%- endif -%}
{%- set rules = [] -%}
{%- for column in not_null -%}
  {%- do rules.append(('not_null: ' ~ column, column ~ ' is null')) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
  {%- set listed = [] -%}
  {%- for value in values -%}{%- do listed.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}{%- endfor -%}
  {%- do rules.append(('accepted_values: ' ~ column, column ~ ' not in (' ~ listed | join(', ') ~ ')')) -%}
{%- endfor -%}
{%- for expression in expressions -%}
  {%- do rules.append(('expression: ' ~ expression, 'not (' ~ expression ~ ')')) -%}
{%- endfor -%}
{%- if not rules and not key -%}
  {{ exceptions.raise_compiler_error("row_rules on " ~ model ~ " names no rule") }}
{%- endif -%}
with checked as not materialized (

    select * from {{ model }}

)

{%- if rules %}

select rule.name as rule, to_jsonb(checked) as failing_row
from checked
cross join lateral (
    values
    {%- for name, failed in rules %}
        ('{{ name | replace("'", "''") }}', {{ failed }}){% if not loop.last %},{% endif %}
    {%- endfor %}
) as rule (name, failed)
where ({% for _, failed in rules %}{{ failed }}{% if not loop.last %} or {% endif %}{% endfor %})
  and rule.failed
{%- endif %}

{%- if rules and key %}

union all
{%- endif %}

{%- if key %}

select
    'key: ({{ key | join(", ") | replace("'", "''") }})' as rule,
    jsonb_build_object(
        {%- for column in key %}
        '{{ column | replace('"', '') }}', {{ column }},
        {%- endfor %}
        'occurrences', count(*)
    ) as failing_row
from checked
group by {{ key | join(', ') }}
having count(*) > 1
{%- endif %}
{% endtest %}
