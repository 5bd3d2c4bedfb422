"""Random numbers addressed by pupil: the same pupil always gets the same draw for the same purpose and year.

Counter-based (a SplitMix64 hash of the seed, a purpose label and the pupil's person_id), so any year or any
subset of pupils can be drawn without drawing everyone else first and without storing per-pupil state; the
results do not depend on which other pupils are in the frame or in what order.
"""

from __future__ import annotations

import hashlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


class PupilDraws:
    """Uniform and normal draws per (purpose, pupil)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._salts: dict[tuple, np.uint64] = {}

    def _salt(self, purpose: tuple) -> np.uint64:
        s = self._salts.get(purpose)
        if s is None:
            d = hashlib.sha256(repr((self.seed, "pupil-draws", *purpose)).encode()).digest()
            s = np.uint64(int.from_bytes(d[:8], "little"))
            self._salts[purpose] = s
        return s

    def _bits(self, pid: np.ndarray, purpose: tuple) -> np.ndarray:
        # SplitMix64 output for the state salt + (pid + 1) * golden gamma
        with np.errstate(over="ignore"):
            z = (pid.astype(np.uint64) + np.uint64(1)) * _GOLDEN + self._salt(purpose)
            return _mix(z)

    def uniform(self, pid: np.ndarray, *purpose) -> np.ndarray:
        """U[0, 1) per pupil."""
        return (self._bits(pid, purpose) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))

    def normal(self, pid: np.ndarray, *purpose) -> np.ndarray:
        """N(0, 1) per pupil (Box-Muller on the two 32-bit halves of one hash)."""
        b = self._bits(pid, purpose)
        u1 = ((b >> np.uint64(32)).astype(np.float32) + np.float32(0.5)) * np.float32(2.0 ** -32)  # (0, 1)
        u2 = (b & np.uint64(0xFFFFFFFF)).astype(np.float32) * np.float32(2.0 ** -32)
        return np.sqrt(np.float32(-2.0) * np.log(u1)) * np.cos(np.float32(2 * np.pi) * u2)
