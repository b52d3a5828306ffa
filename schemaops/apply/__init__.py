"""Safe apply of migrations: timeouts, retries, deploy phases (schemaops migrate)."""
