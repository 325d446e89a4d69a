"""Builders put each format's documents into the service graph.

Each builder module has ``nodes(docs, ctx)`` (components, listeners, hosts) and
``edges(docs, ctx)`` (references that may point into other formats). All ``nodes`` run
before any ``edges``, so a compose URL can name a Terraform host and vice versa.
"""
