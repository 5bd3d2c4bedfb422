"""Outcome measures of the social care groups, defined once, and the linked outcome datasets built from them.

- :mod:`.measures`: what a measure is (numerator, denominator, kind, decimal places, years produced);
- :mod:`.families`: every measure of every outcome family (EYFSP, phonics, KS1, KS2, KS4, absence, exclusions,
  SEN, FSM, school type), with its population, groups, lag and breakdowns;
- :mod:`.datasets`: a family's linked dataset (the groups' children found in the population, and all pupils);
- :mod:`.aggregate`: unrounded numerators, denominators and values by geography, group and breakdown;
- :mod:`.levels`: England, regions (with London and Inner/Outer London) and LAs;
- :mod:`.checks`: the blocking consistency checks (bounds; CINO + CPPO + CLA = CIN);
- :mod:`.assets`: the ``outcomes`` asset group.
"""
