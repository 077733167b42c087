"""Settings of the benchmark server: production settings (billing.settings), plus one route.

The only difference is the URLconf (benchmarks.bench_urls), which adds the constant-JSON view
the HTTP benchmarks use as their floor. DEBUG, middleware, authentication, throttling, the
database and the cache are exactly production's, read from the same environment variables.
"""

from billing.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.bench_urls"
