"""Discord command groups, one cog per concern."""
