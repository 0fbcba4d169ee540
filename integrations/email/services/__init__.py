"""Email services (SendGrid), one module per operation; import them from here.

- `compose`: record a message (`email_message_compose`), build SendGrid's request
  (`email_mail_build`);
- `send`: send now (`email_message_send`), send a recorded message once
  (`email_message_deliver`);
- `outbox`: send after a state change, once in effect (`email_message_enqueue`, the outbox
  action `email.send`), staff resend (`email_message_resend`);
- `events`: apply SendGrid's event webhook (`email_event_apply`).
"""

from integrations.email.services.compose import (
    MESSAGE_ID_ARG,
    EmailAttachment,
    email_mail_build,
    email_message_compose,
)
from integrations.email.services.events import (
    EVENT_NAMES,
    STATUS_BEFORE,
    base_message_id,
    email_event_apply,
)
from integrations.email.services.outbox import (
    email_message_enqueue,
    email_message_resend,
    email_message_send_queued,
    email_outbox_key,
    email_send_action,
)
from integrations.email.services.send import (
    MAIL_SEND_PATH,
    SERVICE,
    TextStream,
    email_message_deliver,
    email_message_send,
)

__all__ = [
    "EVENT_NAMES",
    "MAIL_SEND_PATH",
    "MESSAGE_ID_ARG",
    "SERVICE",
    "STATUS_BEFORE",
    "EmailAttachment",
    "TextStream",
    "base_message_id",
    "email_event_apply",
    "email_mail_build",
    "email_message_compose",
    "email_message_deliver",
    "email_message_enqueue",
    "email_message_resend",
    "email_message_send",
    "email_message_send_queued",
    "email_outbox_key",
    "email_send_action",
]
