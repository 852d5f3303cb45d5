"""Live sources: follow a publisher's site (RSS/Atom, WordPress REST API, sitemaps) and keep the archive current.

``fetch`` is the one guarded HTTP client, ``detect`` tells what a URL is, ``registry`` owns the sources and
their per-URL state, and ``sync`` brings the archive up to date with every source.
"""
