"""Contractor's foreman: jobs, TScript hosting, tasks and the agent API (foreman spec)."""
