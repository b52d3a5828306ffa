"""Audit of a live database (schemaops audit)."""
