"""System checks of `integrations.outbound` (settings only; no database, no network).

- `liaison_outbound.E001` INTEGRATIONS_SERVICES is not a dict of dicts.
- `liaison_outbound.E002` INTEGRATIONS_HTTP_DEFAULTS is not a dict.
- `liaison_outbound.E003` a service's configuration is refused (unknown option, a value of the
  wrong type, an insecure base_url, a limiter that can never admit a call): the same
  validation the client runs (`config.service_config`), so the two cannot differ.
- `liaison_outbound.E004` a numeric INTEGRATIONS_* setting is not a number in range.
- `liaison_outbound.E100` a Liaison app it needs is not installed.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from integrations.core.checks import missing_app_errors, number_setting_errors
from integrations.outbound import conf

REQUIRES = ("integrations.core",)


@register()
def check_dependencies(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return missing_app_errors(
        app="integrations.outbound",
        requires=REQUIRES,
        check_id="liaison_outbound.E100",
    )


@register()
def check_services(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from integrations.core.exceptions import IntegrationConfigurationError
    from integrations.outbound.config import known_services, service_config

    services = conf.integrations_services_raw()
    defaults = conf.integrations_http_defaults_raw()
    errors: list[CheckMessage] = []
    if services is not None and not (
        isinstance(services, dict) and all(isinstance(v, dict) for v in services.values())
    ):
        errors.append(
            Error(
                "INTEGRATIONS_SERVICES must be a dict of {service name: {option: value}}.",
                hint='For example INTEGRATIONS_SERVICES = {"stripe": {"read_timeout": 20}, '
                '"acme": {"base_url": "https://api.acme.test"}}; an empty {} declares a '
                "service with the defaults.",
                id="liaison_outbound.E001",
            )
        )
    if defaults is not None and not isinstance(defaults, dict):
        errors.append(
            Error(
                "INTEGRATIONS_HTTP_DEFAULTS must be a dict of {option: value}.",
                hint='For example INTEGRATIONS_HTTP_DEFAULTS = {"read_timeout": 20, "retries": 2}.',
                id="liaison_outbound.E002",
            )
        )
    if errors:
        return errors
    for name in known_services():
        try:
            service_config(name)
        except IntegrationConfigurationError as exc:
            # The message names the setting and the option (and lists the valid options).
            errors.append(
                Error(
                    str(exc),
                    hint="Fix that entry of INTEGRATIONS_SERVICES / INTEGRATIONS_HTTP_DEFAULTS "
                    "(options: integrations/outbound/config.py, README).",
                    id="liaison_outbound.E003",
                )
            )
            if name not in conf.integrations_services():
                break  # a bad INTEGRATIONS_HTTP_DEFAULTS fails every service alike: say it once
    return errors


@register()
def check_numbers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return number_setting_errors(
        (
            ("INTEGRATIONS_METRICS_WINDOW_SECONDS", int, 60),
            ("INTEGRATIONS_REDIS_RETRY_SECONDS", float, 0),
        ),
        check_id="liaison_outbound.E004",
    )
