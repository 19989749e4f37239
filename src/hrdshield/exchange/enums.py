"""Fixed vocabularies of indicator feeds and matches, stored by value."""

from __future__ import annotations

import enum


class IndicatorType(enum.Enum):
    """What an indicator value is: the STIX cyber-observable (and hash) it came from."""

    DOMAIN = "domain-name"
    URL = "url"
    IPV4 = "ipv4-addr"
    IPV6 = "ipv6-addr"
    EMAIL = "email-addr"
    SHA256 = "file:sha-256"
    SHA1 = "file:sha-1"
    MD5 = "file:md5"

    @property
    def is_hash(self) -> bool:
        """Return whether values of this type are file hashes (matched against files, not text)."""
        return self in (IndicatorType.SHA256, IndicatorType.SHA1, IndicatorType.MD5)


class SkipReason(enum.Enum):
    """Why part of a feed was not imported; reported with counts, never an error."""

    PATTERN_TYPE = "pattern_type"  # not a STIX pattern (Sigma, YARA, Snort, ...)
    SYNTAX = "syntax"  # not valid STIX patterning
    OBJECT_TYPE = "object_type"  # an object type the matcher cannot use (process, app, ...)
    PROPERTY = "property"  # a property of a known object other than its value (or hash)
    OPERATOR = "operator"  # MATCHES, LIKE, IN, !=, comparisons other than equality
    AND = "and"  # all of several conditions must hold: cannot be matched on one text
    FOLLOWED_BY = "followed_by"  # a sequence of observations over time
    QUALIFIER = "qualifier"  # WITHIN, REPEATS, START/STOP
    INVALID_VALUE = "invalid_value"  # a value that is not a usable domain, URL, address or hash
    REVOKED = "revoked"  # revoked before this service ever imported it

    @property
    def description(self) -> str:
        """Return the reason in words, as the import report prints it."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    SkipReason.PATTERN_TYPE: "pattern language other than STIX",
    SkipReason.SYNTAX: "pattern is not valid STIX patterning",
    SkipReason.OBJECT_TYPE: "object type not matched by HRD Shield",
    SkipReason.PROPERTY: "property other than the value or a file hash",
    SkipReason.OPERATOR: "comparison other than equality (MATCHES, LIKE, IN, !=, <, >)",
    SkipReason.AND: "AND of several conditions",
    SkipReason.FOLLOWED_BY: "FOLLOWEDBY sequence of observations",
    SkipReason.QUALIFIER: "WITHIN, REPEATS or START/STOP qualifier",
    SkipReason.INVALID_VALUE: "value is not a usable domain, URL, address, e-mail or hash",
    SkipReason.REVOKED: "revoked before it was ever imported",
}


class MatchKind(enum.Enum):
    """How a piece of text matched an indicator."""

    EXACT_DOMAIN = "exact_domain"  # a bare domain equal to a domain indicator
    SUBDOMAIN = "subdomain"  # a domain (bare or a link's host) under a domain indicator
    URL_HOST = "url_host"  # a link whose host is a domain indicator
    FULL_URL = "url"  # a link equal to a URL indicator, with or without scheme and slash
    IP = "ip"  # an IPv4 or IPv6 address equal to, or inside, an address indicator
    EMAIL = "email"  # an e-mail address equal to an e-mail indicator
    FILE_HASH = "file_hash"  # a file's hash equal to a hash indicator
    SHORTENED_LINK = "shortened_link"  # a link through a URL shortener: destination unknown

    @property
    def confidence(self) -> str:
        """Return "low" for a shortened link (its target is unknown offline), else "high"."""
        return "low" if self is MatchKind.SHORTENED_LINK else "high"
