"""The console's words: mail pages (see docs/glossary.md)."""

CATALOG: dict[str, dict[str, str]] = {}
