"""URL rules written once: joining a schema path to the base URL, same-origin and loopback checks."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .._version import __version__
from ..errors import ConfigurationError, ProtocolError

USER_AGENT = "synapse-dyn"


def user_agent() -> str:
    """``synapse-dyn/<version>``, the User-Agent every request carries."""
    return f"{USER_AGENT}/{__version__}"


def origin(url: str) -> tuple[str, str]:
    """(scheme, host[:port]) of a URL, lower-cased: what two URLs must share to be the same origin."""
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def is_relative_path(path: str) -> bool:
    """A path with no scheme and no host (``/v2/x/`` or ``v2/x/``), never ``//host/x`` or ``http://host/x``."""
    parts = urlsplit(path)
    return not parts.scheme and not parts.netloc and not path.startswith(("//", "\\\\", "/\\"))


def join_url(base_url: str, path: str) -> str:
    """The base URL joined with a relative path; an absolute or scheme-relative path is refused."""
    if not is_relative_path(path):
        raise ConfigurationError(
            f"path {path[:80]!r} is not relative to the base URL; paths must be relative (e.g. /v2/projects/)")
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def same_origin_url(base_url: str, link: str, purpose: str) -> str:
    """A link (absolute or root-relative) resolved against base_url's origin; another origin is refused
    because the request would carry our credentials there."""
    base = urlsplit(base_url)
    if is_relative_path(link) and link.startswith("/"):
        url = f"{base.scheme}://{base.netloc}{link}"
    elif is_relative_path(link):
        url = join_url(base_url, link)
    else:
        url = link
    if origin(url) != origin(base_url):
        scheme, netloc = origin(url)
        raise ProtocolError(f"refusing to {purpose} to another origin ({scheme}://{netloc})")
    return url


def is_loopback_host(host: str) -> bool:
    """Whether a host name or address is this machine (localhost, 127.0.0.0/8, ::1)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """Whether a URL points at this machine."""
    return is_loopback_host(urlsplit(url).hostname or "")
