"""The version of contextree (read by the build backend, sent in the HTTP User-Agent)."""

__version__ = "0.1.0"
