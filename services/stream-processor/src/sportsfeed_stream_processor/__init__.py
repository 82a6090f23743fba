"""sportsfeed stream processor."""
