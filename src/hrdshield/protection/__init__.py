"""Protective actions for defenders, carried out on the platform through adapters."""
