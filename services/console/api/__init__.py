"""The console's HTTP side: agent pages, the complainant's status page, and the security around them."""
