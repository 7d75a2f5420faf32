"""The console's words: import pages (see docs/glossary.md)."""

CATALOG: dict[str, dict[str, str]] = {}
