"""Plugins shipped with the agent (entry-point group ``subcontractor.plugins``)."""
