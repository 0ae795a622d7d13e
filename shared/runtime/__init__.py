"""Running the suite: serving one service, the embedded servers, the supervisor and the CLI."""
