"""Subscribers: resellers (VISPs) and their realms, customers and their services."""
