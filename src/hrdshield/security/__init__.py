"""Cryptography, authentication, access control and the audit log: the project's trust base."""
