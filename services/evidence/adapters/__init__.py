"""Evidence's outside systems: the card-key issuer, asked over HTTP."""
