"""Blockhouse application layer: composition root, settings, CLI, main window."""

__version__ = "0.1.0"
