"""Stripe payments: `PaymentService` on the official SDK, synced Customer/Payment/Subscription."""
