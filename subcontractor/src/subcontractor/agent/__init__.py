"""The agent daemon: register, poll, run tasks, heartbeat, post outcomes, shut down cleanly."""

from subcontractor.agent.daemon import Agent

__all__ = ["Agent"]
