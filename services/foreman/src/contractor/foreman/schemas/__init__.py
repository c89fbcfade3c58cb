"""Pydantic request and response models of foreman's API."""
