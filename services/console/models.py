"""The console stores no documents (see repository.py): sessions live in signed cookies."""
