"""Runs sportsfeed's real servers (Kafka in KRaft mode, DynamoDB Local, Redis) as local processes.

No Docker engine is needed: Kafka and DynamoDB Local are resolved from Maven
Central into a download cache, Redis is Debian's ``redis-server``. The same
launcher serves the README's run command and the test suite.
"""
