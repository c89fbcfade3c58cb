"""The ``sim`` plugin: simulated machines for tests, benchmarks and one-machine runs."""

from subcontractor.plugins.sim.plugin import SimConfig, SimPlugin

__all__ = ["SimConfig", "SimPlugin"]
