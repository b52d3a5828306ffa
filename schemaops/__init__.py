"""schemaops: zero-downtime schema and data changes for Django on PostgreSQL."""

__version__ = "0.1.0"
