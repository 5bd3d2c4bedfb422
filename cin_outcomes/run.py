"""``cin-outcomes run``: build the whole publication once, year by year, in a Dagster instance the UI can show.

1. Make sure a landing folder exists: generate the default synthetic England there if it is empty or was made with
   another scale or seed.
2. Materialise the asset graph in a persistent Dagster instance (``DAGSTER_HOME``, default ``.dagster_home`` in the
   project): every input year's ingest and cohorts (2013-14 on), then every published year's linkage, outcomes and
   tables (2018-19 on), then the publication files. Years run in order, because the "Ever ... in the last 6 years"
   cohorts read the five years before. A year that fails (a blocking check, a bad return) is reported and the
   other years carry on; the publication is not assembled over a failed year.
3. Print what was built and where: warehouse, publication files, and the command that opens the Dagster UI on the
   same instance, so every run, check and materialisation is there to inspect.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from cin_outcomes.resources import project_root

DAGSTER_YAML = """\
# Dagster instance for cin-outcomes (written by `cin-outcomes run`). Government machine: no usage statistics.
telemetry:
  enabled: false
"""


@dataclass
class LayerResult:
    name: str
    years_ok: list[str] = field(default_factory=list)
    years_failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class RunSummary:
    landing: Path
    warehouse: Path
    output: Path
    dagster_home: Path
    generated: bool
    layers: list[LayerResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(not layer.years_failed for layer in self.layers)


def ensure_dagster_home(path: Path) -> Path:
    """A kept Dagster instance folder with telemetry off."""
    path.mkdir(parents=True, exist_ok=True)
    cfg = path / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(DAGSTER_YAML)
    return path


def ensure_landing(landing: Path, scale: float, seed: int, progress: bool) -> bool:
    """Generate the synthetic England into ``landing`` unless the same scale and seed are already there."""
    stamp = landing / "SYNTHETIC.json"
    if stamp.exists():
        made = json.loads(stamp.read_text())
        if made.get("scale") == scale and made.get("seed") == seed and not made.get("only_las"):
            return False
    elif landing.exists() and any(landing.iterdir()):
        return False  # real deliveries (no SYNTHETIC.json): never overwrite them
    from cin_outcomes.synthetic.config import SyntheticConfig
    from cin_outcomes.synthetic.generate import generate

    generate(SyntheticConfig(scale=scale, seed=seed), landing, progress=progress)
    return True


def run_pipeline(*, landing: Path | None = None, warehouse: Path | None = None, output: Path | None = None,
                 dagster_home: Path | None = None, scale: float = 0.02, seed: int = 42,
                 progress: bool = True) -> RunSummary:
    root = project_root()
    landing = (landing or Path(os.environ.get("CIN_OUTCOMES_LANDING") or root / "data" / "landing")).resolve()
    warehouse = (warehouse or Path(os.environ.get("CIN_OUTCOMES_WAREHOUSE") or root / "warehouse")).resolve()
    output = (output or Path(os.environ.get("CIN_OUTCOMES_OUTPUT") or root / "output")).resolve()
    home = ensure_dagster_home((dagster_home or Path(os.environ.get("DAGSTER_HOME") or root / ".dagster_home"))
                               .resolve())
    os.environ.update({"CIN_OUTCOMES_LANDING": str(landing), "CIN_OUTCOMES_WAREHOUSE": str(warehouse),
                       "CIN_OUTCOMES_OUTPUT": str(output), "DAGSTER_HOME": str(home)})
    generated = ensure_landing(landing, scale, seed, progress)
    summary = RunSummary(landing=landing, warehouse=warehouse, output=output, dagster_home=home,
                         generated=generated)

    import dagster as dg
    from tqdm import tqdm

    from cin_outcomes.definitions import build_definitions
    from cin_outcomes.partitions import input_years, published_years

    defs = build_definitions()
    instance = dg.DagsterInstance.get()
    everything = [*defs.assets, *defs.asset_checks]
    by_pd: dict = {}
    for a in defs.assets:
        if isinstance(a, dg.AssetsDefinition) and a.is_executable:
            by_pd.setdefault(a.partitions_def, []).extend(a.keys)
    plan = [("social care: ingest and cohorts", input_years, by_pd.get(input_years, [])),
            ("outcomes and tables", published_years, by_pd.get(published_years, [])),
            ("publication", None, by_pd.get(None, []))]
    failed_years: set[str] = set()
    for name, pd, keys in plan:
        if not keys:
            continue
        layer = LayerResult(name)
        t0 = time.perf_counter()
        pks = pd.get_partition_keys() if pd is not None else [None]
        for pk in tqdm(pks, desc=name, unit="year", disable=not progress, leave=False):
            label = _label(pk)
            if pk is None and failed_years:
                layer.years_failed["all years"] = "not assembled: years failed " + ", ".join(sorted(failed_years))
                continue
            result = dg.materialize(everything, selection=keys, partition_key=pk, instance=instance,
                                    resources=defs.resources, raise_on_error=False,
                                    tags={"cin_outcomes/launched_by": "cin-outcomes run"})
            if result.success:
                layer.years_ok.append(label)
            else:
                failed_years.add(label)
                layer.years_failed[label] = _failure(result)
        layer.seconds = round(time.perf_counter() - t0, 1)
        summary.layers.append(layer)
    return summary


def _label(pk: str | None) -> str:
    from cin_outcomes.years import ReportingYear

    return ReportingYear.parse(pk).label if pk else "all years"


def _failure(result) -> str:
    """The first failing step and check names, without data values."""
    steps = [e.step_key for e in result.all_events if e.is_step_failure]
    checks = [e.asset_check_evaluation_data.check_name for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed]
    parts = []
    if checks:
        parts.append("failed checks: " + ", ".join(sorted(set(checks))[:5]))
    if steps:
        parts.append("failed steps: " + ", ".join(sorted(set(steps))[:5]))
    return "; ".join(parts) or "failed"


def format_summary(s: RunSummary) -> str:
    lines = []
    lines.append(("Generated a synthetic England in " if s.generated else "Landing files read from ") + str(s.landing))
    for layer in s.layers:
        status = f"{len(layer.years_ok)} ok" + (f", {len(layer.years_failed)} failed" if layer.years_failed else "")
        lines.append(f"  {layer.name}: {status} ({layer.seconds:.0f} s)")
        for year, why in layer.years_failed.items():
            lines.append(f"    {year}: {why}")
    lines.append(f"Warehouse (child-level, not for publication): {s.warehouse}")
    pub = s.output / "publication"
    if pub.exists():
        lines.extend(publication_summary(pub))
    lines.append("Dagster UI on this run's history:  make ui   (then open http://127.0.0.1:3000)")
    lines.append(f"  i.e. DAGSTER_HOME={s.dagster_home} .venv/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000")
    return "\n".join(lines)


def publication_summary(pub: Path) -> list[str]:
    """Files, rows, suppressed cells and national match rates of the written publication."""
    import polars as pl

    data = sorted(p for p in pub.glob("*.csv") if not p.name.endswith(".meta.csv"))
    lines = [f"Publication: {pub}  ({len(data)} data files, each with its .meta.csv; data-guidance.txt, "
             "methodology)"]
    total_rows = total_c = 0
    for p in data:
        df = pl.read_csv(p, infer_schema=False)
        c = sum(df[col].eq("c").sum() for col in df.columns)
        total_rows += df.height
        total_c += c
        lines.append(f"  {p.name}: {df.height:,} rows, {c:,} suppressed cells (c)")
    lines.append(f"  total: {total_rows:,} rows, {total_c:,} suppressed cells")
    rates = [p for p in data if "match" in p.name]
    if rates:
        df = pl.read_csv(rates[0], infer_schema=False)
        if "geographic_level" in df.columns:
            nat = df.filter(pl.col("geographic_level") == "National")
            latest = nat["time_period"].max()
            lines.append(f"  national match rates {latest} ({rates[0].name}):")
            pct = [c for c in nat.columns if c.startswith("pt_")]
            for row in nat.filter(pl.col("time_period") == latest).iter_rows(named=True):
                group = row.get("social_care_group", "")
                lines.append("    " + group + ": " + ", ".join(f"{c} {row[c]}" for c in pct[:3]))
    return lines
