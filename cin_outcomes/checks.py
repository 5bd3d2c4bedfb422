"""Blocking checks guard the warehouse: a year whose output fails one keeps its last good output.

Dagster stores an output (the IO manager overwrites the year's parquet file) the moment an asset yields it. If a
blocking check fails after that, the run still fails, but the bad figures are already stored and the year's
last good output is gone. :func:`emit_checked` prevents that. It yields an asset's check results first. Then it
either yields the outputs, or raises :class:`dagster.Failure` without storing anything. In that case the check is
recorded as FAILED for the year, no materialisation is recorded, the IO manager is never called, and the
previous file stays in place. Other years, and any other LA's return in another run, are not touched.

Only failures that Dagster itself treats as blocking hold an output back: a check whose spec has
``blocking=True`` and which fails with ERROR severity. Non-blocking and WARN results are recorded, and the output
is stored anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Union

import dagster as dg

from cin_outcomes.years import ReportingYear

#: Rules listed per failed check in the failure message (all of them stay in the check's own metadata).
MAX_RULES = 8
#: Metadata keys that hold failure counts per rule, in the shapes the layers' checks use.
RULE_KEYS = ("failures_by_rule",)
#: Count fields of a per-rule record (``{"column": ..., "check": ..., "failures": 3}``), by preference.
_COUNT_FIELDS = ("failures", "count", "rows", "n")

Emitted = Union[dg.Output, dg.MaterializeResult]


def emit_checked(
    outputs: Emitted | Iterable[Emitted],
    check_results: dg.AssetCheckResult | Iterable[dg.AssetCheckResult],
    *,
    what: str,
    context: dg.AssetExecutionContext | None = None,
) -> Iterator[Emitted | dg.AssetCheckResult]:
    """Store ``outputs`` only if no blocking check in ``check_results`` failed.

    ``what`` names, for a statistician, what would have been stored, e.g. ``"CIN census tables"``.
    ``context`` is the running asset's context. It defaults to the current one.

    If every blocking check passed, this yields the outputs, unchanged (data versions and metadata included),
    and then the check results. The results come after the outputs so that each check is recorded against the
    new materialisation. If a blocking check failed, it yields every check result, with a note added to the
    description of each blocking failure. It then raises :class:`dagster.Failure`, whose description gives the
    year, the checks that failed with their counts, and says that the last good output was kept.
    """
    context = context or dg.AssetExecutionContext.get()
    outputs = _as_list(outputs, (dg.Output, dg.MaterializeResult))
    results = _as_list(check_results, dg.AssetCheckResult)
    resolved = [(r, _resolve(context, r)) for r in results]
    failed = [(r, key) for r, key in resolved if _blocks(context, r, key)]
    if not failed:
        yield from outputs
        yield from results
        return

    year = _year(context)
    kept = _last_stored(context, [_output_key(context, o) for o in outputs])
    notes = {id(r): _note(year, key.asset_key, kept) for r, key in failed}
    for r in results:
        yield _with_note(r, notes[id(r)]) if id(r) in notes else r
    raise dg.Failure(
        description=failure_description(what, year, _time_period(context), failed, kept),
        metadata=failure_metadata(context, failed, kept),
        allow_retries=False,  # the same inputs fail the same checks again
    )


# --- what failed -------------------------------------------------------------------------------------------------

def _as_list(value, types) -> list:
    if value is None:
        return []
    if isinstance(value, types):
        return [value]
    return list(value)


def _resolve(context: dg.AssetExecutionContext, result: dg.AssetCheckResult) -> dg.AssetCheckKey:
    """The check a result reports on: its asset key and check name, filled in as Dagster fills them in."""
    names: dict[dg.AssetKey, set[str]] = {}
    for key in context.assets_def.check_keys:
        names.setdefault(key.asset_key, set()).add(key.name)
    return result.resolve_target_check_key(names)


def _blocks(context: dg.AssetExecutionContext, result: dg.AssetCheckResult, key: dg.AssetCheckKey) -> bool:
    """The failure Dagster treats as blocking: failed, ERROR severity, and the spec says ``blocking``."""
    return (not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
            and context.assets_def.get_spec_for_check_key(key).blocking)


def _note(year: str | None, key: dg.AssetKey, kept: Mapping[dg.AssetKey, float | None] | None) -> str:
    """Appended to a blocking failure's description: what the year's stored output now is."""
    of_year = f" of {year}" if year else ""
    if kept is not None and key in kept and kept[key] is None:
        return f"Not stored: there is no earlier output{of_year}, so none is stored until the checks pass."
    if kept is not None and kept.get(key) is not None:
        return f"Not stored: the last good output{of_year} (stored {_when(kept[key])}) was kept."
    return f"Not stored: the last good output{of_year} was kept."


def _with_note(result: dg.AssetCheckResult, note: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=result.passed, asset_key=result.asset_key, check_name=result.check_name, metadata=result.metadata,
        severity=result.severity, description=f"{result.description} {note}" if result.description else note)


def _number(value: Any) -> int | float | None:
    v = value.value if isinstance(value, dg.MetadataValue) else value
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return v


def check_counts(result: dg.AssetCheckResult) -> dict[str, int | float]:
    """The numbers in a result's metadata (``failures``, ``rows``, ``files_left_out`` ...), in order."""
    return {k: n for k, v in result.metadata.items() if (n := _number(v)) is not None}


def rule_counts(result: dg.AssetCheckResult) -> dict[str, int | float]:
    """Failures per rule from ``failures_by_rule``. It may be a mapping ``{rule: count}`` or a list of
    ``{"column": ..., "check": ..., "failures": n}`` records. A record's label is made of its text fields
    (rule or column and check names); its lists (row numbers, group names) are left out."""
    out: dict[str, int | float] = {}
    for name in RULE_KEYS:
        value = result.metadata.get(name)
        v = value.value if isinstance(value, dg.MetadataValue) else value
        if isinstance(v, Mapping):
            out.update({str(k): n for k, c in v.items() if (n := _number(c)) is not None})
        elif isinstance(v, list):
            for rec in v:
                if not isinstance(rec, Mapping):
                    continue
                count = next((n for f in _COUNT_FIELDS if (n := _number(rec.get(f))) is not None), None)
                label = " / ".join(str(x) for k, x in rec.items() if isinstance(x, str) and k not in _COUNT_FIELDS)
                if count is not None and label:
                    out[label] = out.get(label, 0) + count
    return out


def _line(result: dg.AssetCheckResult, key: dg.AssetCheckKey) -> str:
    counts = check_counts(result)
    rules = rule_counts(result)
    text = f"- {key.asset_key.to_user_string()}: {key.name}"
    if counts:
        text += " (" + ", ".join(f"{k.replace('_', ' ')} {_fmt(n)}" for k, n in counts.items()) + ")"
    if rules:
        shown = list(rules.items())[:MAX_RULES]
        text += "; by rule: " + "; ".join(f"{rule}: {_fmt(n)}" for rule, n in shown)
        if len(rules) > MAX_RULES:
            text += f"; and {len(rules) - MAX_RULES} more rule(s) in the check's metadata"
    return text


def _fmt(n: int | float) -> str:
    return f"{n:,}" if isinstance(n, int) else f"{n:,.4g}"


# --- what was kept -----------------------------------------------------------------------------------------------

def _year(context: dg.AssetExecutionContext) -> str | None:
    """The reporting year(s) of the step as a statistician reads them (``2016-17``), or None without years."""
    def label(pk: str) -> str:
        try:
            return ReportingYear.parse(pk).label
        except ValueError:
            return pk

    if context.has_partition_key_range:
        r = context.partition_key_range
        return label(r.start) if r.start == r.end else f"{label(r.start)} to {label(r.end)}"
    if context.has_partition_key:
        return label(context.partition_key)
    return None


def _time_period(context: dg.AssetExecutionContext) -> str | None:
    if context.has_partition_key and not context.has_partition_key_range:
        try:
            return ReportingYear.parse(context.partition_key).time_period
        except ValueError:
            return None
    return None


def _output_key(context: dg.AssetExecutionContext, out: Emitted) -> dg.AssetKey:
    by_name = context.assets_def.keys_by_output_name
    if isinstance(out, dg.MaterializeResult) and out.asset_key is not None:
        return out.asset_key
    if isinstance(out, dg.Output) and out.output_name in by_name:
        return by_name[out.output_name]
    return context.assets_def.key  # the only asset of a single asset


def _last_stored(context: dg.AssetExecutionContext,
                 keys: list[dg.AssetKey]) -> dict[dg.AssetKey, float | None] | None:
    """When each held-back asset was last stored for the step's year (None: never), or None for a run over
    several years (each year keeps its own last output)."""
    if context.has_partition_key_range and context.partition_key_range.start != context.partition_key_range.end:
        return None
    partitions = [context.partition_key] if context.has_partition_key else None
    kept: dict[dg.AssetKey, float | None] = {}
    for key in keys:
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=partitions), limit=1).records
        kept[key] = records[0].timestamp if records else None
    return kept


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def failure_description(what: str, year: str | None, time_period: str | None,
                        failed: list[tuple[dg.AssetCheckResult, dg.AssetCheckKey]],
                        kept: Mapping[dg.AssetKey, float | None] | None) -> str:
    """The message a statistician reads on the failed step: year, checks and counts, and what was kept."""
    where = f"{year} ({time_period})" if year and time_period else (year or "")
    n = len(failed)
    head = (f"{where + ': ' if where else ''}{what} not stored, because {n} blocking "
            f"check{'s' if n != 1 else ''} failed:")
    lines = [head, *(_line(r, k) for r, k in failed)]
    of_year = f" of {year}" if year else ""
    if kept is None:
        lines.append(f"Each year{' from ' + year if year else ''} kept its last good output unchanged.")
    else:
        had = [k for k, ts in kept.items() if ts is not None]
        never = [k for k, ts in kept.items() if ts is None]
        if had:
            latest = max(kept[k] for k in had)
            lines.append(f"The last good output{of_year} was kept unchanged for {len(had)} asset(s) "
                         f"(last stored {_when(latest)}).")
        if never:
            lines.append(f"{len(never)} asset(s) had no earlier output{of_year}: "
                         + ", ".join(k.to_user_string() for k in never)
                         + "; nothing is stored for them until the checks pass.")
    lines.append("Other years are not affected, and nothing downstream is recomputed from these figures. "
                 "Correct the input and run the year again; the check results list every failure.")
    return "\n".join(lines)


def failure_metadata(context: dg.AssetExecutionContext,
                     failed: list[tuple[dg.AssetCheckResult, dg.AssetCheckKey]],
                     kept: Mapping[dg.AssetKey, float | None] | None) -> dict:
    """Counts only: which checks failed with their numbers, which assets were held back, what was kept."""
    meta: dict[str, Any] = {}
    year = _year(context)
    if year:
        meta["reporting_year"] = year
    tp = _time_period(context)
    if tp:
        meta["time_period"] = tp
    meta["blocking_checks_failed"] = len(failed)
    meta["failed_checks"] = dg.MetadataValue.json([
        {"asset": k.asset_key.to_user_string(), "check": k.name, "counts": check_counts(r),
         "failures_by_rule": rule_counts(r)} for r, k in failed])
    if kept is not None:
        meta["not_stored"] = dg.MetadataValue.json([k.to_user_string() for k in kept])
        meta["last_good_output_kept"] = dg.MetadataValue.json(
            {k.to_user_string(): (_when(ts) if ts is not None else None) for k, ts in kept.items()})
    return meta
