"""Liaison's foundation: encrypted fields and key rotation, redaction, exception roots, the
staff API base, login rate limits and the system checks that name a missing setting.

Depends on no other Liaison app; every other app depends on it.
"""
