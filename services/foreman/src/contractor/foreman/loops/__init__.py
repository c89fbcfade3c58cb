"""Background loops of one replica (spec §3.1), each its own task in the lifespan."""
