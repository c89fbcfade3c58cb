"""Async functions over foreman's rows; they flush and never commit (routes own transactions)."""

from contractor.foreman.store import agents, events, jobs, log, programs, tasks, timeline

__all__ = ["agents", "events", "jobs", "log", "programs", "tasks", "timeline"]
