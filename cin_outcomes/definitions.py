"""The cin-outcomes code location: every asset, check, resource, sensor, schedule and job.

Layers, shown as asset groups: ``landing`` (the delivered files, external) -> ``ingest`` (typed tables with
validation checks) -> ``cohorts`` -> later ``outcomes`` and the publication tables. Each layer's module exposes
``assets`` and ``asset_checks``; a layer that does not exist yet is simply absent.

Run from the project folder::

    dagster dev -w workspace.yaml        # or: dg dev
    dg check defs && dg list defs

Telemetry: on a government machine switch Dagster's usage statistics off in ``$DAGSTER_HOME/dagster.yaml``::

    telemetry:
      enabled: false

(``dg`` itself reads ``[tool.dg.cli.telemetry] enabled = false`` in ``pyproject.toml``, already set.) Without
``DAGSTER_HOME``, ``dagster dev`` keeps its run history in a temporary folder that is deleted on exit; set it to
a kept folder (e.g. ``export DAGSTER_HOME=$PWD/.dagster_home``, ignored by git) to keep history between sessions.

Storage: the warehouse (``CIN_OUTCOMES_WAREHOUSE``, default ``warehouse/``) and the landing folder
(``CIN_OUTCOMES_LANDING``, default ``data/landing/``), both in the project folder.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Iterable, Sequence

import dagster as dg

from cin_outcomes import automation, landing
from cin_outcomes.io_manager import ParquetIOManager
from cin_outcomes.partitions import input_years
from cin_outcomes.resources import LandingRoot
from cin_outcomes.schedules import build_annual_schedule

#: Modules holding the computed layers, in pipeline order; each exposes ``assets`` and ``asset_checks``.
LAYER_MODULES = (
    "cin_outcomes.ingest.assets",
    "cin_outcomes.cohorts.assets",
    "cin_outcomes.linkage.assets",
    "cin_outcomes.outcomes.assets",
    "cin_outcomes.disclosure.assets",
    "cin_outcomes.publication.assets",
)


def load_layers(modules: Sequence[str] = LAYER_MODULES) -> tuple[list, list]:
    """``(assets, asset_checks)`` of every layer module that exists. A module that exists but fails to import
    raises: a broken layer must not disappear from the catalogue silently."""
    assets, checks = [], []
    for name in modules:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name is not None and name.startswith(e.name):
                continue  # the layer has not been written yet
            raise
        assets.extend(getattr(mod, "assets", []))
        checks.extend(getattr(mod, "asset_checks", []))
    return assets, checks


def _executable_keys_by_partitions(assets: Iterable) -> dict[dg.PartitionsDefinition | None, list[dg.AssetKey]]:
    out: dict = defaultdict(list)
    for a in assets:
        if isinstance(a, dg.AssetsDefinition) and a.is_executable:
            out[a.partitions_def].extend(a.keys)
    return {pd: sorted(keys, key=lambda k: k.to_user_string()) for pd, keys in out.items()}


def build_jobs(assets: Sequence) -> tuple[list[dg.UnresolvedAssetJobDefinition], dg.UnresolvedAssetJobDefinition | None]:
    """The annual jobs, one per layer of years (a Dagster job runs one partitions definition):

    - ``annual_social_care``: ingest and cohorts of one reporting year (the years from 2013-14 on);
    - ``annual_publication``: the published layers (years from 2018-19 on, and tables across all years), once
      they exist.

    Returns ``(jobs, the job the annual schedule runs)``.
    """
    by_pd = _executable_keys_by_partitions(assets)
    jobs, scheduled = [], None
    social = by_pd.get(input_years, [])
    rest = [k for pd, keys in by_pd.items() if pd != input_years for k in keys]
    if social:
        scheduled = dg.define_asset_job(
            "annual_social_care",
            selection=dg.AssetSelection.assets(*social),
            partitions_def=input_years,
            description="Ingest every LA's returns for one reporting year and build every social care cohort.",
        )
        jobs.append(scheduled)
    if rest:
        pds = {pd for pd in by_pd if pd not in (input_years, None)}
        job = dg.define_asset_job(
            "annual_publication",
            selection=dg.AssetSelection.assets(*rest),
            partitions_def=next(iter(pds)) if len(pds) == 1 else None,
            description="Outcomes and publication tables for one published reporting year.",
        )
        jobs.append(job)
        scheduled = scheduled or job
    return jobs, scheduled


def build_definitions(
    extra_assets: Sequence = (),
    extra_checks: Sequence = (),
    *,
    layer_modules: Sequence[str] = LAYER_MODULES,
    resources: dict | None = None,
) -> dg.Definitions:
    """Assemble the code location (``extra_*`` lets tests add stand-in assets)."""
    layer_assets, layer_checks = load_layers(layer_modules)
    computed = automation.with_revision_automation([*layer_assets, *extra_assets])
    all_assets = [*landing.assets, *computed]
    jobs, scheduled_job = build_jobs(all_assets)
    schedules = [build_annual_schedule(scheduled_job, input_years)] if scheduled_job is not None else []
    return dg.Definitions(
        assets=all_assets,
        asset_checks=[*layer_checks, *extra_checks],
        resources={"io_manager": ParquetIOManager(), "landing": LandingRoot(), **(resources or {})},
        sensors=[landing.landing_sensor, automation.revision_sensor],
        schedules=schedules,
        jobs=jobs,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location, built when Dagster loads it (``defs()`` in tests)."""
    return build_definitions()
