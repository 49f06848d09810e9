"""The catalog: plans, their versions and price components, subscriber classes, taxes."""
