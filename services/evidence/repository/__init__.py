"""Evidence's store access: every query, write and GridFS call, and every note on how the store behaves.

- `files`: evidence files and the closing marks of complaints.
- `items`: evidence items.
- `custody`: the custody log's entries.
- `records`: payment records from channels and encrypted card keys.
- `content`: evidence content in GridFS, streamed in and out; the orphan sweep.
"""
