"""The evidence service."""
