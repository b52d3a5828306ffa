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
