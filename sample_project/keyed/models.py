from django.db import models


class Token(models.Model):
    """A random UUID (v4) primary key."""

    id = models.UUIDField(primary_key=True)
    value = models.IntegerField()
    doubled = models.BigIntegerField(null=True)

    class Meta:
        managed = False
        db_table = "keyed_token"


class Slug(models.Model):
    """A text primary key."""

    code = models.CharField(primary_key=True, max_length=40)
    value = models.IntegerField()
    doubled = models.BigIntegerField(null=True)

    class Meta:
        managed = False
        db_table = "keyed_slug"


class Line(models.Model):
    """A composite primary key (Django 5.2's CompositePrimaryKey)."""

    pk = models.CompositePrimaryKey("order_no", "line_no")
    order_no = models.IntegerField()
    line_no = models.IntegerField()
    value = models.IntegerField()
    doubled = models.BigIntegerField(null=True)

    class Meta:
        managed = False
        db_table = "keyed_line"


class Loose(models.Model):
    """A primary key the table has no index for (an unmanaged table made by hand)."""

    id = models.IntegerField(primary_key=True)
    value = models.IntegerField()
    doubled = models.BigIntegerField(null=True)

    class Meta:
        managed = False
        db_table = "keyed_loose"


class Event(models.Model):
    """A table partitioned by range of a date, with sub-partitions and a default
    partition; its primary key is (id, day), the integer ``id`` leading."""

    id = models.BigIntegerField(primary_key=True)
    day = models.DateField()
    value = models.IntegerField()
    doubled = models.BigIntegerField(null=True)

    class Meta:
        managed = False
        db_table = "keyed_event"


class Region(models.Model):
    """A table partitioned by list (primary key (id, region))."""

    id = models.IntegerField(primary_key=True)
    region = models.CharField(max_length=10)
    value = models.IntegerField()
    doubled = models.BigIntegerField(null=True)

    class Meta:
        managed = False
        db_table = "keyed_region"


class Shard(models.Model):
    """A table partitioned by hash of its UUID primary key."""

    id = models.UUIDField(primary_key=True)
    value = models.IntegerField()
    doubled = models.BigIntegerField(null=True)

    class Meta:
        managed = False
        db_table = "keyed_shard"
