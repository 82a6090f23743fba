"""The load test's pieces that need neither Locust nor a network, so pytest can check them directly.

``locustfile.py`` (one folder up) wires them to Locust's users and events.
"""
