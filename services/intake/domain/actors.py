"""The services that act on every filed complaint, as named on its timeline."""

#: A ComplaintWait stands for each one not heard from yet, and that service's first step deletes it.
ACTORS = ("evidence", "escalation", "notify")
