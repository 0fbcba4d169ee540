"""The host's receivers of Liaison's signals (connected from `ShopConfig.ready()`)."""

from integrations.email.signals import email_status_changed
from integrations.payments.models import Payment
from integrations.payments.signals import payment_succeeded
from webhooks.models import WebhookEvent
from webhooks.signals import webhook_event_failed, webhook_event_processed

from shop.models import Notification


def on_payment_succeeded(sender, payment, event_type, **kwargs) -> None:
    Notification.objects.get_or_create(
        source="signal:payment_succeeded", detail=f"{payment.stripe_id} {event_type}"
    )


def on_email_status_changed(sender, message, status, previous_status, **kwargs) -> None:
    Notification.objects.get_or_create(
        source="signal:email_status_changed", detail=f"{message.pk} {previous_status}->{status}"
    )


def on_webhook_event_processed(sender, event, **kwargs) -> None:
    Notification.objects.get_or_create(
        source="signal:webhook_event_processed",
        detail=f"{event.provider} {event.event_type} {event.event_id}",
    )


def on_webhook_event_failed(sender, event, error, **kwargs) -> None:
    Notification.objects.get_or_create(
        source="signal:webhook_event_failed", detail=f"{event.event_id} {error}"[:255]
    )


def connect() -> None:
    payment_succeeded.connect(on_payment_succeeded, sender=Payment, dispatch_uid="shop.paid")
    email_status_changed.connect(on_email_status_changed, dispatch_uid="shop.email")
    webhook_event_processed.connect(
        on_webhook_event_processed, sender=WebhookEvent, dispatch_uid="shop.processed"
    )
    webhook_event_failed.connect(
        on_webhook_event_failed, sender=WebhookEvent, dispatch_uid="shop.failed"
    )
