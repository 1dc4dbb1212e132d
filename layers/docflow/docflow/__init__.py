"""Docflow: document workflows behind a REST API, on AWS or on one machine."""

__version__ = "0.1.0"
