"""The RADIUS server, client and proxy: Bureau's entry point for NASes (DESIGN.md section 2)."""
