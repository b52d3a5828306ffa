"""An app that defines a backfill (test data for schemaops.E003)."""
