"""The console's words: people pages (see docs/glossary.md)."""

CATALOG: dict[str, dict[str, str]] = {}
