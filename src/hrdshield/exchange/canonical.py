"""Canonical forms of indicator values, shared by the importer and the matcher.

A value is stored, and a candidate found in text is looked up, in exactly one form: domains in
lower case, IDNA (punycode) for international names, no trailing dot; URLs with a lower-case
scheme and host, no default port, no user name, no fragment and no trailing slash; addresses as
Python's ``ipaddress`` writes them. Whatever cannot be put in that form is refused here, so the
matcher never has to second-guess a stored value.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import quote, urlsplit

import idna

from hrdshield.exchange.enums import IndicatorType

MAX_DOMAIN = 253
MAX_URL = 2048
MAX_EMAIL = 320
UNICODE_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_LOCAL_PART = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")
_HASH_LENGTHS = {IndicatorType.SHA256: 64, IndicatorType.SHA1: 40, IndicatorType.MD5: 32}
_HEX = re.compile(r"[0-9a-f]+")
URL_SCHEMES = {"http": 80, "https": 443, "ftp": 21, "ftps": 990}
# Addresses that any message may mention harmlessly (this machine, a home router, a local
# network): an indicator naming one would flag ordinary text. Documentation ranges stay allowed.
_LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/3",
        "::/127",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)
_NARROWEST_PREFIX = {4: 16, 6: 32}  # wider networks would cover whole providers


class InvalidValue(ValueError):
    """The value cannot be used as an indicator; the message says why."""


@functools.lru_cache(maxsize=4096)
def _to_ascii(name: str) -> str | None:
    try:
        return idna.encode(name, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def ascii_host(name: str) -> str | None:
    """Return a host name in lower-case ASCII (punycode), or None if it cannot be one."""
    name = name.translate(UNICODE_DOTS).rstrip(".")
    if name.isascii():
        return name.lower()
    return _to_ascii(name)


def canonical_domain(value: str) -> str:
    """Return a domain in canonical form (a leading ``*.`` is dropped: subdomains match anyway)."""
    name = value.strip()
    name = name.removeprefix("*.")
    if not name or len(name) > MAX_DOMAIN * 4:
        raise InvalidValue("empty or overlong domain")
    ascii_name = ascii_host(name)
    if ascii_name is None:
        raise InvalidValue("not a valid international domain name")
    labels = ascii_name.split(".")
    if len(ascii_name) > MAX_DOMAIN or len(labels) < 2:
        raise InvalidValue("a domain needs at least two labels and at most 253 characters")
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise InvalidValue("a domain label has characters a host name cannot have")
        if label.startswith("xn--") and _from_punycode(label) is None:
            raise InvalidValue("a punycode label does not decode")
    if labels[-1].isdigit():
        raise InvalidValue("a numeric top-level label: this is an address, not a domain")
    return ascii_name


def _from_punycode(label: str) -> str | None:
    try:
        return idna.decode(label)
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def canonical_ip(value: str, expected: IndicatorType | None = None) -> tuple[IndicatorType, str]:
    """Return an address or network (CIDR) in canonical form with its type."""
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as error:
        raise InvalidValue("not an IP address or network") from error
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
        mapped = network.network_address.ipv4_mapped
        network = ipaddress.ip_network(f"{mapped}/{max(network.prefixlen - 96, 0)}")
    kind = IndicatorType.IPV4 if network.version == 4 else IndicatorType.IPV6
    if expected is not None and kind is not expected:
        raise InvalidValue(f"an IPv{network.version} address given as {expected.value}")
    if network.prefixlen < _NARROWEST_PREFIX[network.version]:
        raise InvalidValue("the network is too broad to use as an indicator")
    if any(
        network.version == local.version and network.subnet_of(local)  # type: ignore[arg-type]
        for local in _LOCAL_NETWORKS
    ):
        raise InvalidValue("a local, private or multicast address")
    if network.prefixlen == network.max_prefixlen:
        return kind, str(network.network_address)
    return kind, str(network)


_URL_SAFE = "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) != "%")


def normal_path(path: str) -> str:
    """Return a URL path (or query) in ASCII, escapes in upper case, no trailing slashes."""
    if not path.isascii():
        path = quote(path, safe=_URL_SAFE + "%")
    return _PERCENT.sub(lambda escape: escape.group(0).upper(), path).rstrip("/")


def canonical_url(value: str) -> str:
    """Return a URL in canonical form; a URL given without a scheme is taken as http."""
    text = value.strip()
    if not text or len(text) > MAX_URL or any(character.isspace() for character in text):
        raise InvalidValue("empty, overlong or containing spaces")
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
        hostname = parts.hostname
    except ValueError as error:
        raise InvalidValue("not a URL") from error
    scheme = parts.scheme.lower()
    if scheme not in URL_SCHEMES or not hostname:
        raise InvalidValue("a URL needs an http, https, ftp or ftps scheme and a host")
    host = canonical_host(hostname)
    default_port = port is None or port == URL_SCHEMES[scheme]
    url = scheme + "://" + url_key(host, None if default_port else port, parts.path, parts.query)
    if len(url) > MAX_URL:
        raise InvalidValue("over 2,048 characters")
    return url


def canonical_host(hostname: str) -> str:
    """Return a URL's host as a canonical domain or address (IPv6 without brackets)."""
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return canonical_domain(hostname)
    return canonical_ip(hostname)[1]


def url_key(host: str, port: int | None, path: str, query: str) -> str:
    """Return the scheme-less form of a URL by which links are looked up."""
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    query = normal_path(query) if query else ""
    return netloc + normal_path(path) + (f"?{query}" if query else "")


def key_of_canonical_url(url: str) -> str:
    """Return the lookup key of a URL already in canonical form."""
    return url.split("://", 1)[1]


def canonical_email(value: str) -> str:
    """Return an e-mail address with its local part in lower case and its domain canonical."""
    text = value.strip()
    local, at, domain = text.rpartition("@")
    if not at or len(text) > MAX_EMAIL or not 1 <= len(local) <= 64:
        raise InvalidValue("not an e-mail address")
    local = local.lower()
    if not _LOCAL_PART.fullmatch(local):
        raise InvalidValue("the part before @ has characters an address cannot have")
    return f"{local}@{canonical_domain(domain)}"


def canonical_hash(kind: IndicatorType, value: str) -> str:
    """Return a file hash in lower-case hexadecimal, checked for its length."""
    digest = value.strip().lower()
    if len(digest) != _HASH_LENGTHS[kind] or not _HEX.fullmatch(digest):
        raise InvalidValue(f"not a {kind.value.removeprefix('file:').upper()} digest")
    return digest


def canonical(kind: IndicatorType, value: str) -> tuple[IndicatorType, str]:
    """Return `value` of type `kind` in canonical form (with its type, refined for addresses)."""
    if kind is IndicatorType.DOMAIN:
        return kind, canonical_domain(value)
    if kind is IndicatorType.URL:
        return kind, canonical_url(value)
    if kind in (IndicatorType.IPV4, IndicatorType.IPV6):
        return canonical_ip(value, kind)
    if kind is IndicatorType.EMAIL:
        return kind, canonical_email(value)
    return kind, canonical_hash(kind, value)
