"""Sensors: the major-violation sensor recomputes the credit chain when a violation is recorded (SPEC §9)."""
