"""The landing sensor: notice new and changed deliveries, and ingest exactly the years that changed.

On each tick the sensor hashes, per source (CIN census, SSDA903, NPD) and reporting year, every file delivered for
that year. A year whose hash differs from the one in the cursor has a new delivery (a first delivery or an LA's
resubmission): the sensor records an observation of that landing asset and year with the hash as its data
version, and requests one run of that year's ingest assets, with a run key naming the year, the new hashes and the
delivery number. A re-delivery of identical files leaves every hash unchanged and triggers nothing.

Speed: files are streamed through SHA-256 on several threads, and a file's digest is reused while its device,
inode, size, modification and change times are all unchanged (the change time cannot be set back by copying
tools, so an edited file is always re-read). A year whose files changed in the last ``settle_seconds`` is left
for a later tick, so a delivery still being copied is never ingested half-way. If hashing runs past
``budget_seconds`` the remaining years wait for the next tick; nothing is lost, because the cursor only moves for
the years that were hashed.

Cursor (JSON): ``{"hashes": {source: {year label: hash}}, "deliveries": n}``.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from cin_outcomes.landing.assets import LANDING_ASSETS
from cin_outcomes.partitions import input_years
from cin_outcomes.resources import SOURCES, LandingRoot
from cin_outcomes.years import ReportingYear

#: Characters of the SHA-256 hex digest kept as a data version (64 bits).
HASH_CHARS = 16
_CHUNK = 1 << 20

_digest_cache: dict[str, tuple[tuple[int, ...], str]] = {}
_cache_lock = threading.Lock()


def _signature(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, streamed; reused while the file is provably unchanged."""
    key = str(path)
    sig = _signature(path.stat())
    with _cache_lock:
        hit = _digest_cache.get(key)
    if hit is not None and hit[0] == sig:
        return hit[1]
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    # Only cache if the file did not change while it was read.
    if _signature(path.stat()) == sig:
        with _cache_lock:
            _digest_cache[key] = (sig, digest)
    return digest


@dataclass(frozen=True)
class Delivery:
    """What was delivered for one source and reporting year (no child-level content)."""

    source: str
    year: ReportingYear
    hash: str
    files: int
    local_authorities: int
    bytes: int


def hash_delivery(landing: LandingRoot, source: str, year: ReportingYear, pool: ThreadPoolExecutor) -> Delivery | None:
    """The combined hash of one source's files for one year: file paths (relative to the year folder), sizes and
    contents, in path order. ``None`` when nothing of that source was delivered for the year."""
    files = sorted(landing.source_files(source, year), key=lambda p: p.as_posix())
    if not files:
        return None
    base = landing.year_dir(year)
    digests = list(pool.map(file_digest, files))
    h = hashlib.sha256()
    total = 0
    for path, digest in zip(files, digests):
        size = path.stat().st_size
        total += size
        h.update(f"{path.relative_to(base).as_posix()}\0{size}\0{digest}\n".encode())
    las = {p.relative_to(base).parts[0] for p in files} - {"npd"}
    return Delivery(source, year, h.hexdigest()[:HASH_CHARS], len(files), len(las), total)


def _settling(landing: LandingRoot, year: ReportingYear, settle_seconds: float, now: float) -> bool:
    """Whether any file of the year changed in the last ``settle_seconds`` (a delivery may still be copying)."""
    if settle_seconds <= 0:
        return False
    for source in SOURCES:
        for p in landing.source_files(source, year):
            try:
                st = p.stat()
            except FileNotFoundError:
                return True
            if now - max(st.st_mtime, st.st_ctime) < settle_seconds:
                return True
    return False


def _load_cursor(cursor: str | None) -> tuple[dict[str, dict[str, str]], int]:
    if not cursor:
        return {s: {} for s in SOURCES}, 0
    data = json.loads(cursor)
    hashes = {s: dict(data.get("hashes", {}).get(s, {})) for s in SOURCES}
    return hashes, int(data.get("deliveries", 0))


def _dump_cursor(hashes: dict[str, dict[str, str]], deliveries: int) -> str:
    return json.dumps(
        {"hashes": {s: dict(sorted(hashes[s].items())) for s in SOURCES}, "deliveries": deliveries}, sort_keys=True
    )


def _ingest_assets_of(context: dg.SensorEvaluationContext, source: str) -> set[dg.AssetKey]:
    """The assets computed directly from a landing source (its children in the asset graph)."""
    repo = context.repository_def
    if repo is None:
        return set()
    graph = repo.asset_graph
    key = LANDING_ASSETS[source].key
    if not graph.has(key):
        return set()
    return {k for k in graph.get(key).child_keys if graph.get(k).is_materializable}


def build_landing_sensor(
    name: str = "landing_deliveries",
    *,
    minimum_interval_seconds: int = 60,
    settle_seconds: float = 60.0,
    budget_seconds: float = 40.0,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    """The landing sensor (see the module docstring); tests build one with ``settle_seconds=0``."""
    landing_keys = [spec.key for spec in LANDING_ASSETS.values()]

    @dg.sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        asset_selection=dg.AssetSelection.assets(*landing_keys).downstream(depth=1, include_self=False),
        description=(
            "Hashes every year's CIN census, SSDA903 and NPD deliveries; for each year whose files changed it "
            "records the new data version of the landing asset and runs that year's ingest. An identical "
            "re-delivery triggers nothing."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext, landing: LandingRoot) -> dg.SensorResult:
        started = time.monotonic()
        now = time.time()
        hashes, deliveries = _load_cursor(context.cursor)
        valid = set(input_years.get_partition_keys())
        years = [y for y in landing.years() if y.partition_key in valid]
        for y in landing.years():
            if y.partition_key not in valid:
                context.log.warning(
                    f"Landing folder {y.label} is not a configured reporting year "
                    f"({input_years.get_first_partition_key()[:4]} onwards, up to the last data year); skipped"
                )
        changed: list[tuple[ReportingYear, list[Delivery]]] = []
        deferred: list[str] = []
        with ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2))) as pool:
            for y in years:
                if time.monotonic() - started > budget_seconds:
                    deferred.append(y.label)
                    continue
                if _settling(landing, y, settle_seconds, now):
                    deferred.append(y.label)
                    continue
                new = []
                for source in SOURCES:
                    d = hash_delivery(landing, source, y, pool)
                    previous = hashes[source].get(y.label)
                    if d is None:
                        if previous is not None:
                            context.log.warning(f"{source} for {y.label}: the delivered files have been removed")
                            del hashes[source][y.label]
                        continue
                    if d.hash != previous:
                        new.append(d)
                if new:
                    changed.append((y, new))
        if deferred:
            context.log.info(f"Left for the next tick (still arriving, or out of time): {', '.join(deferred)}")

        observations, run_requests = [], []
        for y, new in changed:
            deliveries += 1
            for d in new:
                hashes[d.source][y.label] = d.hash
                observations.append(
                    dg.AssetObservation(
                        asset_key=LANDING_ASSETS[d.source].key,
                        partition=y.partition_key,
                        tags={"dagster/data_version": d.hash},
                        metadata={
                            "reporting_year": y.label,
                            "time_period": y.time_period,
                            "files": d.files,
                            "local_authorities": d.local_authorities,
                            "bytes": d.bytes,
                            "delivery": deliveries,
                        },
                    )
                )
            targets = set().union(*(_ingest_assets_of(context, d.source) for d in new))
            if targets:
                run_requests.append(
                    dg.RunRequest(
                        run_key=f"{y.partition_key}:" + ":".join(f"{d.source}={d.hash}" for d in new)
                        + f":delivery-{deliveries}",
                        partition_key=y.partition_key,
                        asset_selection=sorted(targets, key=lambda k: k.to_user_string()),
                        tags={
                            "cin_outcomes/reporting_year": y.label,
                            "cin_outcomes/changed_sources": ",".join(d.source for d in new),
                        },
                    )
                )
            context.log.info(
                f"{y.label}: new delivery of " + ", ".join(f"{d.source} ({d.files} files, {d.hash})" for d in new)
            )
        return dg.SensorResult(
            run_requests=run_requests, asset_events=observations, cursor=_dump_cursor(hashes, deliveries)
        )

    return _sensor


landing_sensor = build_landing_sensor()
