"""sportsfeed push gateway: live odds over WebSockets, the connection registry in Redis, the dashboard."""
