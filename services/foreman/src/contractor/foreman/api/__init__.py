"""Foreman's routers: public job API, agent API, registry and health."""
