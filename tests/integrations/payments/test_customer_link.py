"""How a synced Stripe customer finds the host's user (`STRIPE_CUSTOMER_USER_MATCH`), and
`customer_for_user` never handing out a customer without a Stripe id."""

from __future__ import annotations

import pytest
import responses
from django.core.management import call_command
from django.test import override_settings

from integrations.payments.checks import check_customer_user_match
from integrations.payments.models import Customer
from integrations.payments.services import customer_for_user

pytestmark = pytest.mark.django_db

CUS = "cus_QXg1o8vcGmoR32"
API = "https://api.stripe.com"
FAKE_KEY = "sk_test_" + "q" * 24  # pragma: allowlist secret


@pytest.fixture
def jenny(django_user_model):
    return django_user_model.objects.create_user("jenny", "Jenny.Rosen@example.com", "pw")


def test_default_rule_links_by_the_user_id_in_metadata(deliver, jenny, sent):
    deliver("customer.created", metadata={"liaison_user_id": str(jenny.pk)})

    assert Customer.objects.get(stripe_id=CUS).user == jenny
    assert sent["customer_changed"][0]["customer"].user == jenny


def test_metadata_key_is_configurable(deliver, jenny, settings):
    settings.STRIPE_CUSTOMER_USER_METADATA_KEY = "user_id"
    deliver("customer.created", metadata={"liaison_user_id": "999999", "user_id": str(jenny.pk)})

    assert Customer.objects.get(stripe_id=CUS).user == jenny


def test_metadata_rule_ignores_an_email_match_and_a_malformed_id(deliver, jenny):
    deliver("customer.created", metadata={"liaison_user_id": "not-a-number"})

    assert Customer.objects.get(stripe_id=CUS).user is None


def test_email_rule_links_the_one_user_with_that_email(deliver, jenny, settings):
    settings.STRIPE_CUSTOMER_USER_MATCH = "email"
    deliver("customer.created")  # jenny.rosen@example.com, other case than the user's

    assert Customer.objects.get(stripe_id=CUS).user == jenny


def test_email_rule_links_nobody_when_two_users_share_the_email(
    deliver, jenny, settings, django_user_model
):
    settings.STRIPE_CUSTOMER_USER_MATCH = "email"
    django_user_model.objects.create_user("jenny2", "jenny.rosen@example.com", "pw")
    deliver("customer.created")

    assert Customer.objects.get(stripe_id=CUS).user is None


def test_none_rule_never_links(deliver, jenny, settings):
    settings.STRIPE_CUSTOMER_USER_MATCH = "none"
    deliver("customer.created", metadata={"liaison_user_id": str(jenny.pk)})

    assert Customer.objects.get(stripe_id=CUS).user is None


def test_a_user_linked_to_another_customer_is_not_moved(deliver, jenny):
    Customer.objects.create(stripe_id="cus_first", user=jenny)
    deliver("customer.created", metadata={"liaison_user_id": str(jenny.pk)})

    assert Customer.objects.get(stripe_id=CUS).user is None
    assert Customer.objects.get(stripe_id="cus_first").user == jenny


def test_an_unknown_rule_is_a_system_check_error_naming_the_setting(settings):
    settings.STRIPE_CUSTOMER_USER_MATCH = "username"
    errors = check_customer_user_match()
    assert [e.id for e in errors] == ["liaison_payments.E003"]
    assert "STRIPE_CUSTOMER_USER_MATCH" in errors[0].msg


@responses.activate
def test_customer_for_user_never_returns_a_row_without_a_stripe_id(jenny):
    Customer.objects.create(stripe_id="", user=jenny)  # as the old admin "Add" left them
    responses.post(
        f"{API}/v1/customers",
        json={"id": "cus_new", "object": "customer", "email": jenny.email, "metadata": {}},
    )
    with override_settings(STRIPE_SECRET_KEY=FAKE_KEY):
        customer = customer_for_user(user=jenny)

    assert customer.stripe_id == "cus_new"
    assert customer.user == jenny
    assert customer_for_user(user=jenny) == customer  # found locally now
    assert len(responses.calls) == 1


def test_migration_removes_customers_without_a_stripe_id(transactional_db):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    call_command("migrate", "liaison_payments", "0003", verbosity=0)
    executor = MigrationExecutor(connection)
    old = executor.loader.project_state(("liaison_payments", "0003_stripe_documented_field_limits"))
    OldCustomer = old.apps.get_model("liaison_payments", "Customer")
    OldCustomer.objects.create(stripe_id="")
    OldCustomer.objects.create(stripe_id="cus_kept")

    call_command("migrate", "liaison_payments", verbosity=0)

    assert list(Customer.objects.values_list("stripe_id", flat=True)) == ["cus_kept"]
