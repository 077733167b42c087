"""psycopg's repeat of a failed pipelined transaction's error is dropped; its other warnings are kept.

The repeat is logged only when the error reaches the client while the block still runs (timing:
seen under load over HTTP, thousands of times in a long history run), so the record is made here.
"""

import logging


def test_the_aborted_pipeline_repeat_is_dropped_and_other_psycopg_warnings_pass(caplog):
    logger = logging.getLogger("psycopg")
    with caplog.at_level(logging.WARNING, logger="psycopg"):
        # As psycopg words it (Pipeline.__exit__); caplog's handler sits on the root, behind the logger's filter.
        logger.warning("error ignored terminating %r: %s", "<psycopg.Pipeline [INERROR, pipeline=ON]>", "pipeline aborted")
        logger.warning("some other psycopg warning")

    assert [record.getMessage() for record in caplog.records] == ["some other psycopg warning"]
