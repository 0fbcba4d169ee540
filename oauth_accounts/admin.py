"""Admin registrations of this app (added with its models)."""
