"""Linkage: the children of the social care groups matched to the National Pupil Database.

- :mod:`.populations`: who each outcome is measured on (one record per pupil, duplicates resolved);
- :mod:`.match`: candidate UPNs (UPN, then former UPN), matching and match rates;
- :mod:`.care`: placement and length of the period of care at 31 March for looked-after children;
- :mod:`.children`: the linkage frame of a year (every group's children with their candidates);
- :mod:`.assets`: the ``linkage`` asset group.
"""
