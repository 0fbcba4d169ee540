"""`manage.py shop_scenario` — the host project exercises Liaison through its own URLs.

Run by tests/host_project/test_install_into_host.py after `migrate` and after the webhook
endpoints were created with `manage.py webhook_endpoint create`. Everything goes through
Django's test client (no server, no network); it prints one line per step and exits non-zero
on the first failed expectation.
"""

import base64
import json
import time
import uuid
from pathlib import Path

import stripe
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.test import Client
from integrations.email.models import EmailMessage
from integrations.payments.models import Payment
from sendgrid.helpers.eventwebhook import EventWebhook
from webhooks.models import WebhookEvent

from shop.models import Notification, Order

HOST = "shop.example.com"
SENDGRID_X_MESSAGE_ID = "14c5d75ce93.dfd.64b469"


class Command(BaseCommand):
    help = "Drive Liaison's webhooks and pages from the host project (scenario test)."

    def add_arguments(self, parser):
        parser.add_argument("--stripe-fixture", required=True, type=Path)
        parser.add_argument("--stripe-secret", required=True)
        parser.add_argument("--sendgrid-private-key", required=True, type=Path)
        parser.add_argument("--sendgrid-public-key", required=True)
        parser.add_argument("--acme-secret", required=True)

    def handle(self, *args, **options):
        # Requests as the browser / provider sends them: HTTPS (SECURE_SSL_REDIRECT is on).
        self.client = Client(HTTP_HOST=HOST)
        self.stripe_webhook(options["stripe_fixture"], options["stripe_secret"])
        self.sendgrid_webhook(options["sendgrid_private_key"], options["sendgrid_public_key"])
        self.acme_webhook(options["acme_secret"])
        self.connections_page()
        self.health_dashboard()
        self.stdout.write("scenario: all steps passed")

    # --- helpers ----------------------------------------------------------------------------

    def expect(self, condition, what):
        if not condition:
            raise CommandError(f"FAILED: {what}")

    def step(self, text):
        self.stdout.write(f"scenario: {text}")

    def notified(self, source, detail_contains=""):
        return Notification.objects.filter(source=source, detail__contains=detail_contains).exists()

    def post(self, slug, body, headers):
        return self.client.post(
            f"/webhooks/{slug}/",
            data=body,
            content_type="application/json",
            headers=headers,
            secure=True,
        )

    # --- (a) Stripe -------------------------------------------------------------------------

    def stripe_webhook(self, fixture, secret):
        body = fixture.read_bytes()
        event_id = json.loads(body)["id"]
        Order.objects.create(reference="ORD-2001")
        # Signed by the official library's helper: t=<ts>,v1=HMAC-SHA256(secret, "<ts>.<body>").
        timestamp = int(time.time())
        header = stripe.WebhookSignature.generate_signature_header(
            body.decode(), secret, timestamp=timestamp
        )

        response = self.post("stripe", body, {"Stripe-Signature": header})
        self.expect(response.status_code == 200, f"Stripe delivery answered {response.status_code}")
        event = WebhookEvent.objects.get(event_id=event_id)
        self.expect(event.status == WebhookEvent.Status.PROCESSED, f"Stripe event {event.status}")
        payment = Payment.objects.get(stripe_id="pi_3MtwBwLkdIwHu7ix28a3tqPa")
        self.expect(payment.status == "succeeded", f"Payment is {payment.status}")
        self.expect(
            EmailMessage.objects.filter(
                purpose_key=f"payment:{payment.stripe_id}:succeeded"
            ).exists(),
            "Liaison recorded the confirmation email (not sent: no SENDGRID_API_KEY)",
        )
        self.expect(Order.objects.get(reference="ORD-2001").paid, "the host handler paid the order")
        self.expect(self.notified("handler:stripe", event_id), "host Stripe handler ran")
        self.expect(
            self.notified("signal:payment_succeeded", payment.stripe_id),
            "payment_succeeded receiver called",
        )
        self.expect(
            self.notified("signal:webhook_event_processed", event_id),
            "webhook_event_processed receiver called",
        )
        bad = self.post("stripe", body, {"Stripe-Signature": f"t={timestamp},v1={'0' * 64}"})
        self.expect(bad.status_code == 400, f"a bad Stripe signature answered {bad.status_code}")
        self.step(
            "Stripe payment_intent.succeeded: 200, processed, Payment succeeded, confirmation "
            "email recorded, host handler and payment_succeeded / webhook_event_processed "
            "receivers ran; bad signature 400"
        )

    # --- (b) SendGrid -----------------------------------------------------------------------

    def sendgrid_webhook(self, private_key_file, public_key):
        message = EmailMessage.objects.create(
            to=["jenny.rosen@example.com"],
            from_email="shop@example.com",
            subject="Your order",
            sg_message_id=SENDGRID_X_MESSAGE_ID,
            status=EmailMessage.Status.SENT,
        )
        sg_event_id = f"sg-{uuid.uuid4().hex}"
        timestamp = str(int(time.time()))
        events = [
            {
                "email": "jenny.rosen@example.com",
                "timestamp": int(timestamp),
                "event": "delivered",
                "sg_event_id": sg_event_id,
                "sg_message_id": f"{SENDGRID_X_MESSAGE_ID}.filterdrecv-p3mdw1-756b745b58-kmzbl",
                "response": "250 OK",
            }
        ]
        body = json.dumps(events).encode()
        # SendGrid's Signed Event Webhook: ECDSA P-256 / SHA-256 over timestamp + payload.
        private_key = serialization.load_pem_private_key(
            private_key_file.read_bytes(), password=None
        )
        signature = base64.b64encode(
            private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        ).decode()
        # SendGrid's own helper accepts it.
        self.expect(
            EventWebhook(public_key).verify_signature(body.decode(), signature, timestamp),
            "sendgrid's EventWebhook verifies the test signature",
        )
        response = self.post(
            "sendgrid",
            body,
            {
                "X-Twilio-Email-Event-Webhook-Signature": signature,
                "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            },
        )
        self.expect(response.status_code == 200, f"SendGrid answered {response.status_code}")
        message.refresh_from_db()
        self.expect(message.status == EmailMessage.Status.DELIVERED, f"email is {message.status}")
        self.expect(
            self.notified("signal:email_status_changed", f"{message.pk} sent->delivered"),
            "email_status_changed receiver called",
        )
        self.step("SendGrid delivered event: 200, EmailMessage delivered, receiver called")

    # --- (f) the host's own provider --------------------------------------------------------

    def acme_webhook(self, secret):
        # Liaison's test helper signs with the provider class's own sign().
        from webhooks.providers import get_provider
        from webhooks.testing import webhook_delivery_post

        event_id = f"acme_{uuid.uuid4().hex}"
        body = get_provider("acme").sample_body("order.shipped", event_id=event_id)
        response = webhook_delivery_post(
            self.client, slug="acme", provider_id="acme", body=body, secret=secret, secure=True
        )
        self.expect(response.status_code == 200, f"Acme delivery answered {response.status_code}")
        event = WebhookEvent.objects.get(event_id=event_id)
        self.expect(event.status == WebhookEvent.Status.PROCESSED, f"Acme event {event.status}")
        self.expect(Order.objects.get(reference="ORD-2001").shipped, "order marked shipped")
        self.expect(self.notified("handler:acme", event_id), "host wildcard handler ran")
        self.expect(
            self.notified("signal:webhook_event_processed", f"acme order.shipped {event_id}"),
            "webhook_event_processed receiver called for acme",
        )
        tampered = webhook_delivery_post(
            self.client,
            slug="acme",
            provider_id="acme",
            body=body,
            secret=f"not-{secret}",
            secure=True,
        )
        self.expect(tampered.status_code == 400, f"a wrong secret answered {tampered.status_code}")
        lost_id = f"acme_{uuid.uuid4().hex}"
        lost = webhook_delivery_post(
            self.client,
            slug="acme",
            provider_id="acme",
            body=get_provider("acme").sample_body("order.lost", event_id=lost_id),
            secret=secret,
            secure=True,
        )
        self.expect(lost.status_code == 200, f"the order.lost delivery answered {lost.status_code}")
        failed = WebhookEvent.objects.get(event_id=lost_id)
        self.expect(failed.status == WebhookEvent.Status.FAILED, f"order.lost is {failed.status}")
        self.expect(
            self.notified("signal:webhook_event_failed", f"{lost_id} RuntimeError"),
            "webhook_event_failed receiver called",
        )
        self.step(
            "host provider acme: signed delivery 200, processed by a '*' handler; wrong secret "
            "400; a failing host handler fails the event and webhook_event_failed reaches the host"
        )

    # --- (c) pages inside the host's layout, (d) the dashboard in the host's admin --------------

    def connections_page(self):
        user = get_user_model().objects.create_user("jenny", "jenny@example.com", "unused-pw-1")
        self.client.force_login(user)
        response = self.client.get("/connections/", secure=True)
        self.expect(response.status_code == 200, f"/connections/ answered {response.status_code}")
        html = response.content.decode()
        self.expect("HOST-SHOP-BASE-TEMPLATE" in html, "the page extends the host's base.html")
        self.expect("oauth_accounts/connections.css" in html, "Liaison's stylesheet is linked")
        self.client.logout()
        self.step("/connections/ for a signed-in user: 200 inside the host's base template")

    def health_dashboard(self):
        admin = get_user_model().objects.create_superuser("boss", "boss@example.com", "unused-pw-2")
        self.client.force_login(admin)
        response = self.client.get("/admin/liaison_ops/health/", secure=True)
        self.expect(response.status_code == 200, f"dashboard answered {response.status_code}")
        index = self.client.get("/admin/", secure=True)
        self.expect(index.status_code == 200, f"admin index answered {index.status_code}")
        api = self.client.get("/api/staff/health/", secure=True)
        self.expect(api.status_code == 200, f"staff API health answered {api.status_code}")
        self.client.logout()
        healthz = self.client.get("/healthz", secure=True)
        self.expect(healthz.status_code == 200, f"/healthz answered {healthz.status_code}")
        self.step(
            "health dashboard /admin/liaison_ops/health/, /api/staff/health/: 200 for a "
            "superuser; /healthz 200"
        )
