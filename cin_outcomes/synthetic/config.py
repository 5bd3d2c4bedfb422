"""Settings of one synthetic England and the seeded random streams every component draws from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from cin_outcomes.years import FIRST_INPUT_YEAR, LAST_YEAR, ReportingYear, year_range


@dataclass(frozen=True)
class SyntheticConfig:
    """What to generate. ``scale`` 1.0 is England's size; ``seed`` fixes every random draw."""

    scale: float = 0.02
    seed: int = 42
    first_year: ReportingYear = field(default_factory=lambda: ReportingYear(FIRST_INPUT_YEAR))
    last_year: ReportingYear = field(default_factory=lambda: ReportingYear(LAST_YEAR))
    #: Share of records given a data-quality fault (0 = clean returns that pass DfE's rules).
    fault_rate: float = 0.0
    #: Restrict the social care returns written to these LA codes (None = every LA). The population is the same.
    only_las: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not 0 < self.scale <= 1.0:
            raise ValueError(f"scale must be in (0, 1], got {self.scale}")
        if not 0 <= self.fault_rate <= 1:
            raise ValueError(f"fault rate must be in [0, 1], got {self.fault_rate}")
        object.__setattr__(self, "first_year", ReportingYear.parse(self.first_year))
        object.__setattr__(self, "last_year", ReportingYear.parse(self.last_year))

    @property
    def years(self) -> list[ReportingYear]:
        return year_range(self.first_year, self.last_year)

    def rng(self, *stream: str | int) -> np.random.Generator:
        """An independent generator per named stream, so components never shift each other's draws."""
        digest = hashlib.sha256(repr((self.seed, *stream)).encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))
