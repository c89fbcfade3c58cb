"""Contractor on one machine: ``make run`` and the process supervisor the end-to-end tests share."""
