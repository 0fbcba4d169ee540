"""SendGrid email: services (`integrations.email.services`), a Django backend, the message log."""
