"""The console's words: events pages (see docs/glossary.md)."""

CATALOG: dict[str, dict[str, str]] = {}
