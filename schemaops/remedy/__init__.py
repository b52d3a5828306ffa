"""The remedy planner's home: what schemaops proposes instead of an unsafe change, as code."""
