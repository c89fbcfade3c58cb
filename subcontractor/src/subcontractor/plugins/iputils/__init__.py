"""The ``iputils`` plugin: ICMP ping and TCP port checks from the agent's segment."""

from subcontractor.plugins.iputils.plugin import IputilsConfig, IputilsPlugin

__all__ = ["IputilsConfig", "IputilsPlugin"]
