"""The health dashboard's admin entry.

`Health` has no table (`managed = False`) and is never queried: it exists so that the
dashboard is an ordinary `ModelAdmin` page (`integrations.ops.admin`). Any `AdminSite` that
autodiscovers admin modules — Django's stock `admin.site` included — gets the dashboard at
`<admin>/liaison_ops/health/`, listed on the admin index, guarded by the `view_health`
permission like any other admin page. No admin site has to be replaced.
"""

from __future__ import annotations

from django.db import models


class Health(models.Model):
    class Meta:
        managed = False
        default_permissions = ("view",)
        verbose_name = "health dashboard"
        verbose_name_plural = "health dashboard"

    def __str__(self) -> str:
        return "Health dashboard"
