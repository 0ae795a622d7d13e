"""Outside systems of the console: the four services' HTTP APIs."""
