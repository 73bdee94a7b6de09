"""Errors a user can act on: the CLI prints the message and exits non-zero, no stack trace."""


class EltError(Exception):
    """An expected failure: the message says what failed, where, and what to do next."""
