"""Lock tracing on a scratch database (schemaops trace)."""
