"""cin-outcomes: Outcomes for children in need, including children looked after by local authorities in England."""

__version__ = "0.1.0"
