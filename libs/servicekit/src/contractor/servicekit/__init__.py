"""Plumbing shared by the services (no business logic)."""
