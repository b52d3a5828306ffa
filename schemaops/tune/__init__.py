"""PostgreSQL settings that fit the machine (schemaops tune)."""
