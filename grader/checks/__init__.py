"""Checks: small functions from evidence and parameters to an outcome, registered by kind."""
