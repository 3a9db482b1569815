"""Blockhouse core: domain model, event bus, clocks, OMS, execution, risk, analytics, learning.

Imports only the standard library, numpy, pandas and numba (a test enforces it).
"""
