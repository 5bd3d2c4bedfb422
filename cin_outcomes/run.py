"""``cin-outcomes run``: build the whole publication once, year by year, in a Dagster instance the UI can show.

1. Make sure a landing folder exists: generate the default synthetic England there if it is empty or was made with
   another scale or seed.
2. Materialise the asset graph in a persistent Dagster instance (``DAGSTER_HOME``, default ``.dagster_home`` in the
   project): every input year's ingest and cohorts (2013-14 on), then every published year's linkage, outcomes and
   tables (2018-19 on), then the publication files. Years run side by side in two worker processes; the "Ever ...
   in the last 6 years" cohorts, which read the five years before, wait until every year's one-year cohorts are
   built. A year that fails (a blocking check, a bad return) is reported and the
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


#: Console log level of the runs: the full event log is in the Dagster instance (``make ui``).
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


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
        if made.get("scale") == scale and made.get("seed") == seed:
            return False  # the same synthetic England (perhaps for a few LAs only, as generated)
    elif landing.exists() and any(landing.iterdir()):
        return False  # real deliveries (no SYNTHETIC.json): never overwrite them
    from cin_outcomes.synthetic.config import SyntheticConfig
    from cin_outcomes.synthetic.generate import generate

    generate(SyntheticConfig(scale=scale, seed=seed), landing, progress=progress)
    return True


def run_pipeline(*, landing: Path | None = None, warehouse: Path | None = None, output: Path | None = None,
                 dagster_home: Path | None = None, scale: float = 0.02, seed: int = 42,
                 progress: bool = True, workers: int = 2) -> RunSummary:
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

    from cin_outcomes.definitions import build_definitions

    defs = build_definitions()
    layers = plan_layers(defs)
    # create and migrate the instance's storage here, once, before worker processes open it side by side
    instance = dg.DagsterInstance.get()
    instance.get_runs(limit=1)
    instance.get_latest_materialization_event(dg.AssetKey(["cin_outcomes_run", "storage_check"]))
    instance.get_asset_keys()
    failed_years: set[str] = set()
    with _Workers(workers) as pool:
        for name, pd, parallel_keys, ordered_keys, in_year_order in layers:
            layer = LayerResult(name)
            t0 = time.perf_counter()
            if progress:
                n = len(pd.get_partition_keys()) if pd is not None else 1
                print(f"building {name}: {n} year(s) ...", flush=True)
            if pd is None:
                if failed_years:
                    layer.years_failed["all years"] = "not assembled: years failed " + ", ".join(sorted(failed_years))
                else:
                    _record(layer, failed_years, None, materialize_keys(parallel_keys + ordered_keys, None))
            else:
                pks = pd.get_partition_keys()
                # years whose steps read only their own year (and earlier layers) run side by side ...
                if parallel_keys:
                    for pk, outcome in zip(pks, pool.map(materialize_keys, [parallel_keys] * len(pks), pks)):
                        _record(layer, failed_years, pk, outcome)
                # ... then steps reading other years of the layer (Ever-6 cohorts): side by side when they read
                # only the first wave, in year order when they read each other's earlier years
                if ordered_keys:
                    todo = [pk for pk in pks if _label(pk) not in failed_years]
                    if in_year_order:
                        outcomes = [materialize_keys(ordered_keys, pk) for pk in todo]
                    else:
                        outcomes = pool.map(materialize_keys, [ordered_keys] * len(todo), todo)
                    for pk, outcome in zip(todo, outcomes):
                        _record(layer, failed_years, pk, outcome)
            layer.seconds = round(time.perf_counter() - t0, 1)
            summary.layers.append(layer)
    return summary


def plan_layers(defs) -> list[tuple[str, object, list, list, bool]]:
    """Per layer: ``(name, partitions, keys runnable year by year in parallel, keys reading other years of the
    layer, whether those must run in year order because they read each other's earlier years)``."""
    import dagster as dg

    from cin_outcomes.partitions import input_years, published_years

    graph = defs.resolve_asset_graph()

    def reads_other_years_of(k, within: set) -> bool:
        return any(parent in within and _reads_other_years(graph.get_partition_mapping(k, parent))
                   for parent in graph.get(k).parent_keys)

    by_pd: dict = {}
    for a in defs.assets:
        if isinstance(a, dg.AssetsDefinition) and a.is_executable:
            by_pd.setdefault(a.partitions_def, []).extend(a.keys)
    out = []
    for name, pd in (("social care: ingest and cohorts", input_years), ("outcomes and tables", published_years),
                     ("publication", None)):
        keys = sorted(by_pd.get(pd, []), key=lambda k: k.to_user_string())
        if not keys:
            continue
        layer = set(keys)
        downstream = {k for k in keys if reads_other_years_of(k, layer)}
        changed = True
        while changed:
            changed = False
            for k in keys:
                if k not in downstream and any(p in downstream for p in graph.get(k).parent_keys):
                    downstream.add(k)
                    changed = True
        in_order = any(reads_other_years_of(k, downstream) for k in downstream)
        out.append((name, pd, [k for k in keys if k not in downstream], [k for k in keys if k in downstream],
                    in_order))
    return out


def _reads_other_years(mapping) -> bool:
    import dagster as dg

    if mapping is None or isinstance(mapping, dg.IdentityPartitionMapping):
        return False
    if isinstance(mapping, dg.TimeWindowPartitionMapping):
        return mapping.start_offset != 0 or mapping.end_offset != 0
    return True


_DEFS = None


def materialize_keys(keys: list, pk: str | None) -> tuple[bool, str]:
    """Materialise ``keys`` for one year (or unpartitioned) in this process's instance; (success, failure)."""
    import dagster as dg

    from cin_outcomes.definitions import build_definitions

    global _DEFS
    if _DEFS is None:
        _DEFS = build_definitions()
    result = dg.materialize([*_DEFS.assets, *_DEFS.asset_checks], selection=keys, partition_key=pk,
                            instance=dg.DagsterInstance.get(), resources=_DEFS.resources, raise_on_error=False,
                            run_config=QUIET, tags={"cin_outcomes/launched_by": "cin-outcomes run"})
    return result.success, "" if result.success else _failure(result)


def _record(layer: LayerResult, failed: set[str], pk: str | None, outcome: tuple[bool, str]) -> None:
    ok, why = outcome
    label = _label(pk)
    if ok:
        if label not in layer.years_ok:
            layer.years_ok.append(label)
    else:
        failed.add(label)
        layer.years_failed[label] = why
        if label in layer.years_ok:
            layer.years_ok.remove(label)


class _Workers:
    """A pool of worker processes (spawned, not forked: polars and Dagster hold threads) sharing the instance."""

    def __init__(self, n: int):
        self.n = n
        self.pool = None

    def __enter__(self):
        if self.n > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(self.n, mp_context=multiprocessing.get_context("spawn"))
        return self

    def map(self, fn, *iterables):
        return list(self.pool.map(fn, *iterables)) if self.pool else list(map(fn, *iterables))

    def __exit__(self, *exc):
        if self.pool:
            self.pool.shutdown()


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
        nat = df.filter(pl.col("geographic_level") == "National")
        if "pupil_population" in nat.columns:
            nat = nat.filter(pl.col("pupil_population") == "Spring school census")
        latest = nat["time_period"].max()
        lines.append(f"  national match rates to the spring school census, {latest} ({rates[0].name}):")
        for row in nat.filter(pl.col("time_period") == latest).iter_rows(named=True):
            lines.append(f"    {row['social_care_group']}: {row['t_children']} children, "
                         f"{row['pt_children_with_upn']}% with a valid UPN, {row['pt_matched']}% matched")
    return lines
