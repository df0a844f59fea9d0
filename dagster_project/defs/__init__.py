"""Dagster definitions by concept: dbt/, nightly/, publish/, quality/, alerts/; code_location.py assembles them."""


def __getattr__(name: str):
    # Lazy, so importing one concept (e.g. the pending-days query) does not load every asset definition.
    if name == "build_defs":
        from dagster_project.defs.code_location import build_defs

        return build_defs
    raise AttributeError(name)
