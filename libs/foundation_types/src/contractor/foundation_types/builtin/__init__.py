"""The built-in foundation and complex types (inventory spec §4.2)."""
