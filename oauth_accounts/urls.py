"""URLs of the connect pages, the OAuth flow and the API (included at the site root)."""

from django.urls import path

from oauth_accounts import api, views

app_name = "liaison_oauth"

urlpatterns = [
    path("connections/", views.connections, name="connections"),
    path(
        "connections/<int:account_id>/disconnect/",
        views.disconnect,
        name="disconnect",
    ),
    path("oauth/login/<str:provider>/", views.begin, name="begin"),
    path("oauth/complete/<str:provider>/", views.complete, name="complete"),
    path("api/connections/", api.ConnectionListView.as_view(), name="api-connections"),
    path(
        "api/connections/<int:pk>/",
        api.ConnectionDetailView.as_view(),
        name="api-connection",
    ),
]
