"""Backends: one module per target, each compiling a :class:`~opfilter.query.Query`."""
