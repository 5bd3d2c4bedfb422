"""How LAs identify children: their own child identifiers, and the UPN fields of the returns.

* LA child ID: each LA numbers the children it works with in its own style (zero-padded numbers, plain numbers,
  a letter prefix, the LA number as prefix); alphanumeric, at most 20 characters (CIN rules 1570, 1580), unique
  within the LA, the same in the LA's CIN census and SSDA903 and across years. A child who moves LA gets a new
  identifier in the new LA.
* UPN: the pupil's UPN from the school census once allocated (reception); otherwise a reason (CIN UN1 not of
  school age, UN2 never attended a maintained school in England (independent school, UASC), UN5 discrepancies
  prevent reliable matching (not recorded), UN7 referral with no further action). LAs record the UPN of most but
  not all school-age children (``UPN_RECORDED``), so matching to pupil data is realistic and below 100 %.
* Former UPN: for a few children an earlier UPN (issued twice, the earlier one found later) is recorded.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cin_outcomes.synthetic.config import SyntheticConfig
from cin_outcomes.upn import CHECK_LETTERS

#: Share of (child, LA) pairs whose LA records the child's UPN when the child has one. [UNVERIFIED]
UPN_RECORDED = 0.95
#: Share of children with a UPN who also have a former (temporary) UPN recorded. [UNVERIFIED]
FORMER_UPN_SHARE = 0.01
ID_STYLES = 5


def la_child_ids(cfg: SyntheticConfig, pairs: pl.DataFrame) -> pl.DataFrame:
    """``pairs`` (person_id, la_code) -> person_id, la_code, la_child_id, upn_recorded (bool)."""
    style_rng = cfg.rng("social-care", "id-styles")
    codes = sorted(pairs["la_code"].unique().to_list())
    all_styles = {c: int(s) for c, s in zip(sorted(set(codes)), style_rng.integers(0, ID_STYLES, len(codes)))}
    prefixes = {
        c: "ABCDEFGHJKLMNPRSTVW"[int(i)] for c, i in zip(sorted(set(codes)), style_rng.integers(0, 19, len(codes)))
    }
    out = []
    for (la,), part in sorted(
        pairs.unique().sort("la_code", "person_id").partition_by("la_code", as_dict=True).items()
    ):
        rng = cfg.rng("social-care", "ids", la)
        n = part.height
        base = 10_000 if n < 50_000 else 100_000
        nums = rng.choice(np.arange(base, base + 40 * n + 1000), size=n, replace=False)
        style = all_styles[la]
        s = pl.Series(nums).cast(pl.Utf8)
        if style == 0:
            ids = s.str.zfill(9)
        elif style == 1:
            ids = s
        elif style == 2:
            ids = prefixes[la] + s.str.zfill(7)
        elif style == 3:
            ids = la + s.str.zfill(7)
        else:
            ids = "CH" + s.str.zfill(8)
        rec = rng.random(n) < UPN_RECORDED
        out.append(
            part.select("person_id", "la_code").with_columns(ids.alias("la_child_id"), pl.Series("upn_recorded", rec))
        )
    if not out:
        return pl.DataFrame(
            schema={"person_id": pl.UInt32, "la_code": pl.Utf8, "la_child_id": pl.Utf8, "upn_recorded": pl.Boolean}
        )
    return pl.concat(out)


def check_letters(body: pl.Series) -> pl.Series:
    """Vectorised UPN check letter of 12-character bodies (digits, or 11 digits and a letter)."""
    total = None
    values = {**{str(d): d for d in range(10)}, **{c: i for i, c in enumerate(CHECK_LETTERS)}}
    for i in range(12):
        v = body.str.slice(i, 1).replace_strict(values, default=0, return_dtype=pl.Int64) * (i + 2)
        total = v if total is None else total + v
    letters = {i: c for i, c in enumerate(CHECK_LETTERS)}
    return (total % 23).replace_strict(letters, return_dtype=pl.Utf8)


def former_upns(cfg: SyntheticConfig, children: pl.DataFrame) -> pl.DataFrame:
    """person_id, former_upn: an earlier UPN (same LA, another establishment number) for a few children, as when
    a second UPN was issued and the first found later. Letter and 12 digits (CIN query 1560Q)."""
    rng = cfg.rng("social-care", "former-upn")
    c = children.filter(pl.col("upn").is_not_null()).select("person_id", "upn").sort("person_id")
    pick = rng.random(c.height) < FORMER_UPN_SHARE
    c = c.filter(pl.Series(pick))
    n = c.height
    digits = pl.Series(rng.integers(0, 10**4, n)).cast(pl.Utf8).str.zfill(4)
    body = c["upn"].str.slice(1, 3) + pl.Series(["9"] * n) + digits.str.slice(1) + c["upn"].str.slice(8)
    return c.select("person_id").with_columns((check_letters(body) + body).alias("former_upn"))
