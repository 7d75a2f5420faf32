"""The console's words: ops pages (see docs/glossary.md)."""

CATALOG: dict[str, dict[str, str]] = {}
