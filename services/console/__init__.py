"""The console: HTML pages for agents and complainants over the four services' HTTP APIs."""
