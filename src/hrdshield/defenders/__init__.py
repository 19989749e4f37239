"""Enrolled human rights defenders, their consent, and the identifiers that protect them."""
