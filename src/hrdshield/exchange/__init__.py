"""Threat information exchange: STIX 2.1 indicator feeds and the matcher built from them."""
