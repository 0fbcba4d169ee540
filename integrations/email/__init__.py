"""SendGrid email: `EmailService`, the Django email backend, the `EmailMessage` log."""
