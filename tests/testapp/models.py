from django.db import models

from integrations.core.fields import EncryptedJSONField, EncryptedTextField


class SecretNote(models.Model):
    label = models.CharField(max_length=50, blank=True)
    text = EncryptedTextField(blank=True)
    data = EncryptedJSONField(null=True, blank=True)

    def __str__(self) -> str:
        return self.label or f"note {self.pk}"
