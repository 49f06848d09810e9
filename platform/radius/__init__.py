"""RADIUS packets on the wire: parsing, authenticators, duplicate detection and Class tokens."""
