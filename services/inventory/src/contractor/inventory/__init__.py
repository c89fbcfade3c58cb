"""Contractor inventory service: the source of truth."""
