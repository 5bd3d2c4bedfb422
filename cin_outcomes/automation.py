"""Revisions recompute only what changed: the automation condition on every derived asset and its sensor.

When an LA resubmits a return, ingest re-runs for that year (the landing sensor) and records a new data version
only if the parsed content changed. Every derived asset (cohorts, outcomes, tables) then re-runs for exactly the
years whose inputs changed, through the partition mappings: a 2019-20 revision re-runs the 2019-20 cohorts at
31 March and at any point, and the "Ever ... in the last 6 years" cohorts of 2019-20 to 2024-25. A year whose
inputs failed a blocking check (a return breaking a DfE validation rule) is held back until it is fixed; the
other years proceed.

``AutomationCondition.eager()`` is not used: it only considers the latest year (dagster-notes §2d).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg

from cin_outcomes.landing.assets import LANDING_ASSETS

_AC = dg.AutomationCondition

#: Fire for a year when the data version of any of its input years changed since that year was last handled,
#: every blocking check on those inputs passed, and nothing is missing or still running.
UPSTREAM_DATA_CHANGED: dg.AutomationCondition = (
    _AC.any_deps_match(_AC.data_version_changed()).since_last_handled()
    & _AC.all_deps_blocking_checks_passed()
    & ~_AC.any_deps_missing()
    & ~_AC.any_deps_in_progress()
    & ~_AC.in_progress()
).with_label("upstream data changed")

LANDING_KEYS = frozenset(spec.key for spec in LANDING_ASSETS.values())


def _is_derived(spec: dg.AssetSpec) -> bool:
    """Derived = computed from other pipeline assets. Ingest reads the landing files and is run by the landing
    sensor instead; the landing assets themselves are external."""
    if spec.key in LANDING_KEYS:
        return False
    dep_keys = {d.asset_key for d in spec.deps}
    return bool(dep_keys) and not (dep_keys & LANDING_KEYS)


def with_revision_automation(
    assets: Iterable[dg.AssetsDefinition | dg.AssetSpec],
) -> list[dg.AssetsDefinition | dg.AssetSpec]:
    """Give every derived asset without a condition of its own the :data:`UPSTREAM_DATA_CHANGED` condition."""

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.automation_condition is None and _is_derived(spec):
            return spec.replace_attributes(automation_condition=UPSTREAM_DATA_CHANGED)
        return spec

    return list(dg.map_asset_specs(apply, list(assets)))


def build_revision_sensor(
    name: str = "revision_automation",
    *,
    target: dg.AssetSelection | Sequence[dg.AssetKey] | None = None,
    minimum_interval_seconds: int = 30,
) -> dg.AutomationConditionSensorDefinition:
    """The automation sensor, running by default (Dagster's own default sensor starts stopped)."""
    return dg.AutomationConditionSensorDefinition(
        name,
        target=target if target is not None else dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=minimum_interval_seconds,
        description=(
            "Re-runs derived assets for exactly the years whose inputs changed (an LA resubmission), once every "
            "blocking check on those inputs has passed."
        ),
    )


revision_sensor = build_revision_sensor()
