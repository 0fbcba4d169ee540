"""Transactional outbox: side effects written with the state change, delivered by a relay."""
