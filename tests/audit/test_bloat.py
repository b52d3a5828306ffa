"""AU109 and AU110: bloat planted by deleting most rows, next to a fresh twin."""

from __future__ import annotations

SETUP = [
    "CREATE TABLE {t} (id int PRIMARY KEY, v int, pad text) WITH (autovacuum_enabled = off)",
    "INSERT INTO {t} SELECT g, g, repeat('x', 60) FROM generate_series(1, 60000) g",
    "CREATE INDEX {t}_v ON {t} (v)",
]


def test_index_and_table_bloat_fire_for_the_bloated_table_only(db):
    statements = [s.format(t=t) for t in ("bloated", "fresh") for s in SETUP]
    db.sql(
        *statements,
        "DELETE FROM bloated WHERE id % 10 <> 0",  # 90% gone, spread over every page
        "VACUUM ANALYZE bloated",
        "ANALYZE fresh",
    )
    tables = db.audit("AU110")
    assert [f.obj for f in tables] == ["bloated"]
    assert tables[0].evidence["pct"] > 70
    assert "pg_repack" in tables[0].recipe
    indexes = {f.obj for f in db.audit("AU109")}
    assert indexes == {"bloated_pkey", "bloated_v"}
    assert all(f.evidence["bloat_bytes"] >= 1 << 20 for f in db.audit("AU109"))
