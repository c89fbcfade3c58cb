"""TScript hosting: the modules a job sees, one step of a job, and operator actions."""
