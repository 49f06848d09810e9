"""NAS devices: the RADIUS clients of a tenant (DESIGN.md §3, issue 4)."""
