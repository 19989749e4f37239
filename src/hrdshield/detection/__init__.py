"""Threat detection over the platform's event stream: detectors, alerts and their evaluation."""
