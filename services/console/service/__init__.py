"""The console's use cases: what each page shows and what each form does, over the APIs."""
