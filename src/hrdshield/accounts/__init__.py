"""People who sign in (users) and the trusted partner organisations they may belong to."""
