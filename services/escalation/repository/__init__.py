"""Escalation's store: every query and write of cases and timers, and every note on how the store behaves.

- `cases`: a case read, created and updated under a version check; the merchant's record.
- `timers`: a case's timer documents kept in line with its clocks, and the due floor under them.
- `claims`: due timers claimed under a lease by one instance at a time, the floor moved on.
- `by_ids`: reads and writes of many documents by id, in slices the embedded store handles well.
- `analytics`: aggregation pipelines over the cases' indexed fields.

The service layer above reads as if the store were ideal; what it is not is written down here.
"""
