"""Reliability harnesses: concurrent HTTP histories, fault injection, hostile input corpus.

Run from the tests under tests/reliability/ (CI sizes) and from the command line (long runs):
``python -m reliability.history`` and ``python -m reliability.faults``. RELIABILITY.md records
what they measured.
"""
