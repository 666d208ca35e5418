"""Remote repositories: the core's pull-through engine that format plugins use.

``client`` talks HTTP to upstreams (one pool per process, deadlines,
retries); ``documents`` caches their metadata for the remote's TTL
(revalidation, stale-if-error, negative caching); ``files`` fetches, verifies
and publishes their files; ``singleflight`` makes each of these one fetch
across threads, processes and nodes; ``metrics`` counts it all per remote.
Plugins reach it through ``Gateway.upstream_document`` / ``upstream_file``.
"""
