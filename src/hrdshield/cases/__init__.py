"""Cases: incidents reported by people or raised by detection, worked by reviewers."""
