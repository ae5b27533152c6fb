"""Model Desk: a local-first desktop application for the whole life of image AI models."""

__version__ = "0.1.0"
