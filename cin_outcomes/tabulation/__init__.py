"""The publication's tables: every published file described once, built per year from the linked outcome
datasets, rounded and suppressed, and checked.

- :mod:`.spec`: each published file (name, geographic levels, social care groups, filters, indicators,
  suppression, metadata labels), :data:`~.spec.TABLES`;
- :mod:`.build`: unrounded figures of a table for one year, the disclosure stage, and the published strings;
- :mod:`.checks`: EES screening and the consistency checks run on every year of every table;
- :mod:`.assets`: the ``tables`` asset group.

(The package is not called ``tables`` because :mod:`cin_outcomes.tables` holds the child-level table schemas.)
"""
