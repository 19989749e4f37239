"""The web edge: middleware, templates, translations, errors and request dependencies."""

API_PREFIX = "/api/v1"
