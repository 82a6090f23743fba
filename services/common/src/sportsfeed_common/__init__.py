"""Code shared by every sportsfeed service: settings, event schemas, topics, table, logging, metrics, health."""
