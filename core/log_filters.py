"""Logging filters for the settings' LOGGING."""

import logging


class AbortedPipelineNoise(logging.Filter):
    """Drop psycopg's "error ignored terminating <Pipeline [INERROR]>: pipeline aborted".

    When a statement in a pipelined ledger transaction fails (most often the unique index
    refusing an idempotency key already used: a client's retry, answered as a replay), the
    error is raised to our code as usual; leaving the pipeline then meets the same aborted
    pipeline and psycopg logs that second, redundant failure as a warning. Nothing is lost by
    dropping it: the first error is handled (or logged) where it is raised.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("error ignored terminating") and message.endswith("pipeline aborted"))
