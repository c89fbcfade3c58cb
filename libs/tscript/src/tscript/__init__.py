"""TScript: the resumable scripting language of Contractor's jobs."""
