"""Production table statistics: the ``stats`` snapshot and the cost model that reads it."""
