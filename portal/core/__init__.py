"""Shared plumbing every area uses: configuration, the clock, the database, validation,
lists, permissions, scoping, errors and formatting. Nothing here knows a business rule."""
