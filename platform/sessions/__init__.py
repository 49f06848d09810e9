"""Session control: reservations, real-time rating and charging of RADIUS sessions (issue 4)."""
