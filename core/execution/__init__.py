"""Execution: algorithms (how much, when), router (where), and the service that runs parents."""
