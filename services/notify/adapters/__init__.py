"""Notify's outside systems: SMTP, the SMS provider, partners' webhook endpoints and DNS, and the senders."""
