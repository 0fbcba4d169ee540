"""The receive URL, `POST <prefix><slug>/` — also without the trailing slash.

Providers do not follow redirects, and CommonMiddleware's APPEND_SLASH cannot redirect a POST
(it raises in DEBUG), so both spellings are routed to the view directly.
"""

from django.urls import path

from webhooks.views import receive_webhook

app_name = "liaison_webhooks"

urlpatterns = [
    path("<slug:slug>/", receive_webhook, name="receive"),
    path("<slug:slug>", receive_webhook, name="receive-no-slash"),
]
