"""Partitioned tables: foreign keys, partition indexes and their fixes, on real partitions.

Each fix is run on the database it was made for: a recipe that PostgreSQL
refuses (CREATE INDEX CONCURRENTLY on a partitioned table, DROP INDEX
CONCURRENTLY of a partitioned index) fails the test.
"""

from __future__ import annotations


def _partitioned(db, name: str) -> None:
    db.sql(
        "CREATE TABLE IF NOT EXISTS tenant (id int PRIMARY KEY)",
        f"CREATE TABLE {name} (id bigint, tenant_id int REFERENCES tenant, created date)"
        " PARTITION BY RANGE (created)",
        f"CREATE TABLE {name}_a PARTITION OF {name} FOR VALUES FROM (MINVALUE) TO ('2025-01-01')",
        f"CREATE TABLE {name}_b PARTITION OF {name} FOR VALUES FROM ('2025-01-01') TO (MAXVALUE)",
    )


def _run_fix(db, recipe: str) -> None:
    db.sql(*[line for line in recipe.splitlines() if line and not line.startswith("--")])


def test_fk_on_partitioned_table_is_covered_by_its_partitions_indexes(db):
    _partitioned(db, "on_parent")  # index on the parent: every partition has it
    db.sql("CREATE INDEX ON on_parent (tenant_id)")
    _partitioned(db, "on_each")  # no parent index, but each partition is indexed
    db.sql("CREATE INDEX ON on_each_a (tenant_id)", "CREATE INDEX ON on_each_b (tenant_id)")
    db.sql(  # a partition attached later, its columns in another order (other attnums)
        "CREATE TABLE moved (id bigint, tenant_id int REFERENCES tenant, created date)"
        " PARTITION BY RANGE (created)",
        "CREATE TABLE moved_a (created date, x int, tenant_id int, id bigint)",
        "ALTER TABLE moved_a DROP COLUMN x",
        "CREATE INDEX ON moved_a (tenant_id)",
        "ALTER TABLE moved ATTACH PARTITION moved_a FOR VALUES FROM (MINVALUE) TO (MAXVALUE)",
    )
    _partitioned(db, "half")  # one partition indexed, one not
    db.sql("CREATE INDEX ON half_a (tenant_id)")
    found = {f.obj.split(".")[0]: f for f in db.audit("AU101")}
    assert set(found) == {"half"}
    assert found["half"].evidence["partitions_without_index"] == ["half_b"]
    assert "1 of its 2 partitions" in found["half"].message
    _run_fix(db, found["half"].recipe)
    assert db.audit("AU101") == []


def test_partition_copies_of_a_parent_index_are_reported_once_with_a_working_fix(db):
    _partitioned(db, "ev")
    db.sql(
        "CREATE INDEX ev_t ON ev (tenant_id)",
        "CREATE INDEX ev_t_again ON ev (tenant_id)",
        "CREATE INDEX ev_t_created ON ev (tenant_id, created)",
    )
    duplicates = db.audit("AU105")
    assert [f.obj for f in duplicates] == ["ev_t_again"]  # not its copies on ev_a and ev_b
    redundant = {f.obj for f in db.audit("AU106")}
    assert redundant == {"ev_t", "ev_t_again"}
    recipe = duplicates[0].recipe
    assert "DROP INDEX CONCURRENTLY" not in recipe and "ON ONLY" not in recipe
    drop, restore = recipe.split("-- to restore it")
    _run_fix(db, drop)
    assert db.audit("AU105") == []
    _run_fix(db, restore.split("\n", 1)[1])  # the way back works too
    assert [f.obj for f in db.audit("AU105")] == ["ev_t_again"]


def test_unused_partitioned_index_counts_its_partitions_size(db):
    _partitioned(db, "big")
    db.sql(
        # two halves of about 0.9 MB each: only their sum passes AU104's 1 MB floor
        "INSERT INTO big SELECT g, NULL, date '2024-06-01' + (g % 2) * 365 "
        "FROM generate_series(1, 80000) g",
        "CREATE INDEX big_id ON big (id)",
        "ANALYZE big",
    )
    findings = db.audit("AU104", stats_min_days=0)
    assert [f.obj for f in findings] == ["big_id"]  # the parent, not big_a_id_idx
    assert findings[0].evidence["bytes"] >= 1 << 20
    assert "DROP INDEX IF EXISTS public.big_id;" in findings[0].recipe


def test_invalid_partitioned_index_fix_attaches_the_missing_partitions(db):
    _partitioned(db, "m")
    db.sql("CREATE INDEX m_t ON ONLY m (tenant_id)", "CREATE INDEX m_a_t ON m_a (tenant_id)")
    db.sql("ALTER INDEX m_t ATTACH PARTITION m_a_t")
    [finding] = db.audit("AU108")
    assert finding.obj == "m_t" and finding.evidence["partitions_without_index"] == ["m_b"]
    assert "REINDEX" not in finding.recipe
    _run_fix(db, finding.recipe)
    assert db.audit("AU108") == []


def test_partitioned_table_size_is_its_partitions(db):
    _partitioned(db, "sized")
    db.sql("INSERT INTO sized SELECT g, NULL, date '2024-06-01' FROM generate_series(1, 5000) g")
    db.sql("ANALYZE sized_a")
    [finding] = [f for f in db.audit("AU201") if f.obj == "sized"]
    assert finding.evidence["bytes"] > 0 and finding.evidence["rows"] == 5000
