"""The base of the errors that bad input to a method raises (a malformed record, a store that does not match its
examples). ``methods`` knows nothing of ``bench``, so this is its own small base: ``bench.errors`` imports it and the
CLI reports any of them as one line with ``exit_code``, like a ``bench.errors.BenchError``."""
from __future__ import annotations


class MethodInputError(ValueError):
    """Bad input to a method; the message is one line that names the source, the record and the field."""

    exit_code = 2  # a usage error, as bench.errors.USAGE
