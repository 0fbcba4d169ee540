"""One view: verify a Stripe delivery with the SDK and store the raw body."""

import stripe
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def ingest(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    body = request.body
    try:
        stripe.Webhook.construct_event(
            body.decode("utf-8"),
            request.headers.get("Stripe-Signature", ""),
            settings.BARE_STRIPE_SECRET,
        )
    except (ValueError, stripe.SignatureVerificationError):
        return HttpResponse(status=400)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bare_event (body) VALUES (%s)", [body])
    return JsonResponse({"received": 1})


urlpatterns = [path("ingest/", ingest)]
