"""Égards: loyalty programme and customer relationship in one system."""

__version__ = "0.1.0"
