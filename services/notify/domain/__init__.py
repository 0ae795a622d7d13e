"""Notify service domain: what to say, to whom, when to retry, how to sign; pure rules, no I/O."""
