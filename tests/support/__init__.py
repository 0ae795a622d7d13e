"""Test helpers: real servers, service processes, waiting on conditions."""
