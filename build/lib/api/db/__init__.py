"""The data layer: the only package that knows SQL (with ``api.analytics``)."""
