"""Run service calls from real threads released together, each on its own database connection."""

import threading

from django.db import connections


def run_together(count: int, action) -> tuple[list, list]:
    """Run ``action(i)`` in ``count`` threads released at once by a barrier.

    Returns (results, errors), both indexed by thread; a thread that raised has its exception
    in ``errors`` and None in ``results``. Each thread closes its connections when it ends.
    """
    barrier = threading.Barrier(count)
    results, errors = [None] * count, [None] * count

    def worker(i):
        try:
            barrier.wait()
            results[i] = action(i)
        except Exception as exc:  # kept per thread: the caller asserts what each one got
            errors[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
