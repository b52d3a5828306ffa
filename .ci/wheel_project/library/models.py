from django.db import models


class Book(models.Model):
    title = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["title"], name="book_title_idx")]
