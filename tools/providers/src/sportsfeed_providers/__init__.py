"""Provider-side tools for sportsfeed: a simulated provider, the reference feed generator and sample data."""
