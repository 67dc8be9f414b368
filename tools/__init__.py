"""Maintenance commands run from a checkout (`make vendor`), never by the installed service."""
