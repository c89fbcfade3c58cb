"""Contractor's SubContractor: the agent that long-polls foreman and runs tasks with plugins."""

__version__ = "0.1.0"
