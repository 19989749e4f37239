"""Evidence: files attached to a case, sealed at rest, hashed at intake, with chain of custody.

Lawyers and courts rely on this evidence, so every file keeps the SHA-256 taken when it arrived,
every access leaves a custody row and an audit entry, and no file is ever stored in plaintext or
under the name it was sent with.
"""
