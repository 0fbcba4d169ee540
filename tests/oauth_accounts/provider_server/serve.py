"""Run the test provider: migrate its own SQLite database, create the user and the confidential
client from the environment, then serve HTTP on 127.0.0.1:$PROVIDER_PORT until terminated.

    PROVIDER_* variables: SECRET_KEY, DB, ISSUER, RSA_KEY, PORT, CLIENT_ID, CLIENT_SECRET,
    REDIRECT_URI, USERNAME, PASSWORD, EMAIL
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oauth_accounts.provider_server.settings"


def main() -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command
    from django.core.servers.basehttp import run
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0, interactive=False)
    user = get_user_model().objects.create_user(
        username=os.environ["PROVIDER_USERNAME"],
        password=os.environ["PROVIDER_PASSWORD"],
        email=os.environ["PROVIDER_EMAIL"],
        first_name="Ada",
        last_name="Provider",
    )
    Application.objects.create(
        name="Liaison",
        user=user,
        client_id=os.environ["PROVIDER_CLIENT_ID"],
        client_secret=os.environ["PROVIDER_CLIENT_SECRET"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=os.environ["PROVIDER_REDIRECT_URI"],
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=False,
    )
    run("127.0.0.1", int(os.environ["PROVIDER_PORT"]), WSGIHandler(), threading=True)


if __name__ == "__main__":
    main()
