"""bitriver-lint: checks BitRiver Live deployments against the scaling guide."""

__version__ = "0.1.0"
