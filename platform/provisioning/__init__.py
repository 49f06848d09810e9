"""Provisioning: services' desired state exported to back-end systems, and reconciliation."""
