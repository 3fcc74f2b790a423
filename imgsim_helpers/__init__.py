"""Image similarity, hands-on: the helpers behind the course notebooks."""
__version__ = "0.1.0"
