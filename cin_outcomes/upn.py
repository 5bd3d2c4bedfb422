"""Unique Pupil Numbers: the check letter and format rules of DfE's UPN guide (CIN rules 1510-1550)."""

from __future__ import annotations

import re

CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # I, O and S are never used
UPN_PATTERN = re.compile(r"^[A-HJ-NP-RT-Z]\d{12}$|^[A-HJ-NP-RT-Z]\d{11}[A-HJ-NP-RT-Z]$")
UPN_UNKNOWN_CODES = ("UN1", "UN2", "UN3", "UN4", "UN5", "UN6", "UN7")


def _char_value(c: str) -> int:
    # Temporary UPNs end in a letter, valued by its position in the check-letter alphabet (A=0 ... Z=22).
    return int(c) if c.isdigit() else CHECK_LETTERS.index(c)


def check_letter(body: str) -> str:
    """The check letter for the 12 characters after it: weights 2..13, sum mod 23, alphabet without I, O, S."""
    if len(body) != 12:
        raise ValueError(f"a UPN body has 12 characters, got {len(body)}")
    total = sum(_char_value(c) * w for c, w in zip(body, range(2, 14)))
    return CHECK_LETTERS[total % 23]


def make_upn(la_code: str, estab: int, year_allocated: int, serial: int) -> str:
    """A permanent UPN: check letter, 3-digit LA number, 4-digit establishment, 2-digit year, 3-digit serial."""
    body = f"{int(la_code):03d}{estab % 10000:04d}{year_allocated % 100:02d}{serial % 1000:03d}"
    return check_letter(body) + body


def is_valid_upn(upn: str | None) -> bool:
    """True when ``upn`` has the UPN format and a correct check letter."""
    if upn is None or not UPN_PATTERN.match(upn):
        return False
    return check_letter(upn[1:]) == upn[0]
