"""A tiny app installed only by the test settings, to exercise the foundation's fields."""
