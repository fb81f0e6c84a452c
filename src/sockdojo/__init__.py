"""sockdojo: a self-hostable dojo that teaches network programming with Python sockets."""

__version__ = "0.1.0"
