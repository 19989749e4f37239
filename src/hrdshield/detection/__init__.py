"""Threat detection over the platform's event stream: schema, pipeline, detectors, alerts."""
