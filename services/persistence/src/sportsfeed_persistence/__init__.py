"""sportsfeed persistence: every accepted update stored in DynamoDB exactly once, and the history API."""
