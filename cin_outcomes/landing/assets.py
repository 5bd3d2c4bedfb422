"""The landing files as external assets: what DfE receives, one asset per source and reporting year.

These assets are not computed by the pipeline; they are observed. The landing sensor
(:mod:`cin_outcomes.landing.sensors`) hashes each year's files and records the hash as the year's data version,
so the catalogue shows, per source and year, when a delivery last changed.
"""

from __future__ import annotations

import dagster as dg

from cin_outcomes.partitions import input_years

GROUP = "landing"

def _landing(name: str, kind: str, layout: str, description: str) -> dg.AssetSpec:
    """A landing source: files delivered per reporting year, observed (never written) by the pipeline."""
    return dg.AssetSpec(key=["landing", name], group_name=GROUP, partitions_def=input_years, kinds={kind},
                        description=description, metadata={"landing_layout": f"<landing>/<year e.g. 2019-20>/{layout}"})


cin_census = _landing(
    "cin_census", "xml", "<LA number>/cin_census.xml",
    "Children in need census returns as delivered by local authorities: one XML file per LA and reporting "
    "year (1 April to 31 March), at `<landing>/<year>/<LA number>/cin_census.xml`. Holds every child in need "
    "during the year: referrals, assessments, CIN plans, section 47 enquiries and child protection plans. "
    "Its data version is a hash of the year's files, so a resubmission by any LA shows as a new version of "
    "that year only.",
)

ssda903 = _landing(
    "ssda903", "csv", "<LA number>/ssda903/<Table>.csv",
    "SSDA903 returns on children looked after, as delivered by local authorities: one set of CSV tables "
    "(Header, Episodes, UASC, Reviews, OC2, OC3, Missing, ...) per LA and reporting year, at "
    "`<landing>/<year>/<LA number>/ssda903/<Table>.csv`. Its data version is a hash of the year's files, so "
    "a resubmission by any LA shows as a new version of that year only.",
)

npd = _landing(
    "npd", "parquet", "npd/<module>.parquet",
    "National Pupil Database extracts for the academic year that ends in the reporting year: school census, "
    "early years foundation stage profile, phonics, key stage 1, 2 and 4 attainment, absence, exclusions and "
    "alternative provision census, one parquet file per module at `<landing>/<year>/npd/<module>.parquet`.",
)

#: Landing asset per source name (the names used in the landing layout and in the sensor's cursor).
LANDING_ASSETS: dict[str, dg.AssetSpec] = {"cin_census": cin_census, "ssda903": ssda903, "npd": npd}
assets = list(LANDING_ASSETS.values())
