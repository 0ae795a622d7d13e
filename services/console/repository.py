"""The console keeps nothing of its own: no database, no documents. Every read and write is a
call to one of the four services' APIs with the person's own token (adapters/apis.py)."""
