"""The archive's storage: SQLite tables and migrations, article identity, durable file writes."""
