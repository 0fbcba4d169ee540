"""The host's own models: an order a payment pays, and a log of what Liaison told it."""

from django.db import models


class Order(models.Model):
    reference = models.CharField(max_length=64, unique=True)
    paid = models.BooleanField(default=False)
    shipped = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.reference


class Notification(models.Model):
    """One row per handler call or signal received, so the scenario can assert on them."""

    source = models.CharField(max_length=64)
    detail = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.source}: {self.detail}"
