"""What ingest tells a statistician about the returns it read: problems per file, and rule counts per table.

Nothing here ever holds a child-level value. A problem names the landing file, the LA, the record (the n-th
``<Child>`` of a CIN census file, or the line of an SSDA903 CSV), the field and the rule it breaks; a check outcome
counts failures per rule and samples where they are (file, LA, row), never what the offending value was.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

#: Where a row is in its landing file: the n-th ``<Child>`` element of a CIN census XML, or a CSV line number.
CHILD_RECORD = "child record"
CSV_LINE = "line"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a landing file.

    ``fatal`` problems (the file cannot be read, is not the return it claims to be, or cannot be recognised) mean
    the whole file was left out of the year's tables; the other problems are values that could not be read as
    their type (a date that is not a date, an unknown sex code), which were set to missing and their rows kept.
    """

    file: str
    la_code: str
    rule: str
    message: str
    unit: str | None = None  # CHILD_RECORD or CSV_LINE
    position: int | None = None
    column: str | None = None
    fatal: bool = False
    #: How many records share this problem (value problems are grouped per file, field and rule);
    #: ``position`` is then the first of them.
    count: int = 1
    #: The ingest table the problem concerns (None: every table of the file, e.g. a file left out).
    table: str | None = None

    def __str__(self) -> str:
        first = "first at " if self.count > 1 else ""
        where = f", {first}{self.unit} {self.position}" if self.position is not None else ""
        col = f" ({self.column})" if self.column else ""
        many = f" ({self.count:,} records)" if self.count > 1 else ""
        dropped = " The file was not used." if self.fatal else ""
        return f"{self.file}{where}{col}: {self.message}{many} [rule {self.rule}].{dropped}"

    def as_dict(self) -> dict:
        return asdict(self)


class IngestError(ValueError):
    """A landing file that cannot be used as the return it should be; the message names file, record and rule."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def collect_or_raise(found: list[Problem], problems: list[Problem] | None) -> None:
    """Hand a file's problems to the caller's list, or, when the caller keeps none, raise the first."""
    if problems is not None:
        problems.extend(found)
    elif found:
        raise IngestError(found[0])


def problem_summary(problems: list[Problem]) -> list[dict]:
    """Problems counted per file and rule, for metadata: file, LA, rule, count, whether the file was left out."""
    counts: Counter = Counter()
    for p in problems:
        counts[(p.file, p.la_code, p.rule, p.fatal)] += p.count
    return [
        {"file": f, "la_code": la, "rule": r, "count": n, "file_left_out": fatal}
        for (f, la, r, fatal), n in sorted(counts.items())
    ]


@dataclass
class CheckOutcome:
    """The result of validating one table: failures counted per rule, and a sample of where they are.

    ``sample`` rows are ``{"rule", "la_code", "file", "unit", "row"}``: the landing file and the row in it
    (``unit`` says whether ``row`` is a CSV line or a ``<Child>`` record of a CIN census file); no identifiers.
    """

    table: str
    passed: bool
    rows: int
    counts: dict[str, int] = field(default_factory=dict)
    sample: list[dict] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        if self.passed:
            return f"{self.table}: {self.rows:,} rows, every rule passed"
        rules = "; ".join(f"{r}: {n:,}" for r, n in sorted(self.counts.items()))
        return f"{self.table}: {self.rows:,} rows, {self.failures:,} failures ({rules})"
