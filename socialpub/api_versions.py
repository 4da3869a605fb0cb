"""The API versions socialpub speaks and the day each stops being served, as data.

Every network call names a version: Graph's is the ``/vNN.0`` at the end of a
channel's API address, LinkedIn's the ``LinkedIn-Version`` header (``YYYYMM``).
Networks retire versions on published dates. Graph answers a call to a retired
version as its oldest live one; LinkedIn refuses it with 426 on every call.
This module knows those dates, so that a version going away is seen two months
ahead (the ``socialpub_api_version_days_left`` gauge, its alert, the monitor)
rather than on the morning every post fails.

Sources, read 2026-12:
  Graph: developers.facebook.com/docs/graph-api/changelog/versions (release and
  expiration dates).
  LinkedIn: learn.microsoft.com/linkedin/marketing/integrations/migrations (sunset
  dates up to 202603) and …/marketing/versioning ("supported for a minimum of one
  year"): a version whose date is not published yet is given the first day of its
  month a year later, the earliest LinkedIn's policy allows — marked estimated.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Optional

#: The versions socialpub is written for and sends unless told otherwise
#: (settings SOCIALPUB_GRAPH_API_VERSION, SOCIALPUB_LINKEDIN_API_VERSION; a LinkedIn channel's own).
DEFAULT_GRAPH_VERSION = "v24.0"
DEFAULT_LINKEDIN_VERSION = "202607"

#: How long before a sunset a version is flagged (the alert's threshold too).
WARN_DAYS = 60

GRAPH_SOURCE = "Meta, Graph API changelog: versions"
LINKEDIN_SOURCE = "LinkedIn, Marketing API migrations"
LINKEDIN_POLICY = "LinkedIn, Marketing API versioning: at least a year after release"

#: Graph version → the day Meta stops serving it (None: not announced yet).
GRAPH_SUNSETS = {
    "v19.0": dt.date(2026, 5, 21),
    "v20.0": dt.date(2026, 9, 24),
    "v21.0": dt.date(2027, 1, 21),
    "v22.0": dt.date(2027, 5, 20),
    "v23.0": dt.date(2027, 10, 8),
    "v24.0": dt.date(2028, 2, 18),
    "v25.0": dt.date(2028, 7, 29),
    "v26.0": None,
}
#: LinkedIn version → its published sunset (versions after these get the policy's floor).
LINKEDIN_SUNSETS = {
    "202510": dt.date(2026, 10, 15),
    "202511": dt.date(2026, 11, 16),
    "202601": dt.date(2027, 1, 15),
    "202602": dt.date(2027, 2, 15),
    "202603": dt.date(2027, 3, 16),
}

#: ASCII digits only: a version is sent in a header or a path.
GRAPH_VERSION = re.compile(r"^v([0-9]+)\.([0-9]+)$")
LINKEDIN_VERSION = re.compile(r"^([0-9]{4})([0-9]{2})(\.[0-9]{2})?$")
#: A Graph version at the end of an API address: https://graph.facebook.com/v24.0
GRAPH_IN_URL = re.compile(r"/(v[0-9]+\.[0-9]+)/?$")


@dataclass(frozen=True)
class Sunset:
    """When a version stops being served, and how sure that date is."""

    network: str
    version: str
    day: Optional[dt.date]
    source: str
    estimated: bool = False

    def days_left(self, today: dt.date) -> Optional[int]:
        return None if self.day is None else (self.day - today).days

    def served(self, today: dt.date) -> bool:
        return self.day is None or today < self.day

    def describe(self, today: dt.date) -> str:
        """In words: "202601: served until 2027-01-15 (39 days)"."""
        if self.day is None:
            return f"{self.version}: no end date announced yet"
        left = self.days_left(today)
        if left <= 0:
            return f"{self.version}: no longer served since {self.day:%Y-%m-%d}"
        until = f"{'at least ' if self.estimated else ''}{self.day:%Y-%m-%d}"
        return f"{self.version}: served until {until} ({left} day{'s' if left != 1 else ''})"


def today() -> dt.date:
    """Today in UTC: the networks publish their sunsets as UTC days."""
    return dt.datetime.now(dt.timezone.utc).date()


def family(network: str) -> str:
    """``graph`` for Meta's three networks, ``linkedin`` for LinkedIn."""
    return "linkedin" if network == "linkedin" else "graph"


def default_for(network: str) -> str:
    return DEFAULT_LINKEDIN_VERSION if network == "linkedin" else DEFAULT_GRAPH_VERSION


def is_version(network: str, version: str) -> bool:
    pattern = LINKEDIN_VERSION if family(network) == "linkedin" else GRAPH_VERSION
    return bool(pattern.match(version or ""))


def sunset(network: str, version: str) -> Sunset:
    """When ``version`` of ``network``'s API stops being served.

    Raises:
      ValueError: ``version`` is not written as the network writes versions.
    """
    if family(network) == "graph":
        if not GRAPH_VERSION.match(version or ""):
            raise ValueError(f"{version!r} is not a Graph API version such as {DEFAULT_GRAPH_VERSION}")
        if version in GRAPH_SUNSETS:
            return Sunset("graph", version, GRAPH_SUNSETS[version], GRAPH_SOURCE)
        oldest = min(GRAPH_SUNSETS, key=_graph_number)
        # Older than the table: long retired; newer: announced with the next release.
        retired = _graph_number(version) < _graph_number(oldest)
        return Sunset("graph", version, GRAPH_SUNSETS[oldest] if retired else None, GRAPH_SOURCE)
    match = LINKEDIN_VERSION.match(version or "")
    if not match:
        raise ValueError(f"{version!r} is not a LinkedIn API version such as {DEFAULT_LINKEDIN_VERSION}")
    month = version[:6]
    if month in LINKEDIN_SUNSETS:
        return Sunset("linkedin", version, LINKEDIN_SUNSETS[month], LINKEDIN_SOURCE)
    year, number = int(match.group(1)), int(match.group(2))
    if not 1 <= number <= 12:
        raise ValueError(f"{version!r} is not a LinkedIn API version: {number} is not a month")
    return Sunset("linkedin", version, dt.date(year + 1, number, 1), LINKEDIN_POLICY, estimated=True)


def released(network: str, version: str, today: dt.date) -> bool:
    """Whether a LinkedIn version exists yet (LinkedIn releases one a month;
    a later one is refused like a retired one). Graph versions are always taken as released."""
    if family(network) != "linkedin":
        return True
    return (int(version[:4]), int(version[4:6])) <= (today.year, today.month)


def _graph_number(version: str) -> tuple:
    major, minor = GRAPH_VERSION.match(version).groups()
    return int(major), int(minor)


def graph_version_in(base_url: str) -> Optional[str]:
    """The Graph version an API address names (``…/v24.0``), or None."""
    match = GRAPH_IN_URL.search(base_url or "")
    return match.group(1) if match else None


def channel_version(network: str, base_url: str, api_version: Optional[str],
                    linkedin_default: str = DEFAULT_LINKEDIN_VERSION) -> Optional[str]:
    """The version a channel's calls name: LinkedIn's own or the default, Graph's from its address."""
    if network == "linkedin":
        return api_version or linkedin_default
    return graph_version_in(base_url)


def refusal(network: str, version: str, today: dt.date, *, setting: Optional[str] = None) -> Optional[str]:
    """Why ``version`` cannot be used on ``today``, in plain words with the fix; None when it can.

    ``setting`` names the environment variable it came from (start-up), else it
    is a channel's own.
    """
    try:
        end = sunset(network, version)
    except ValueError as exc:
        return f"{setting}: {exc}" if setting else str(exc)
    label = "LinkedIn" if family(network) == "linkedin" else "Meta's Graph API"
    current = default_for(network)
    fix = (f"set {setting} to {current} or leave it unset" if setting
           else f"clear the channel's API version (it then uses {current}) or set a current one, then retry")
    if not end.served(today):
        return f"{label} stopped serving version {version} on {end.day:%Y-%m-%d}: {fix}."
    if not released(network, version, today):
        return f"{label} has no version {version} yet: {fix}."
    return None


def how_to_move(network: str, version: str, defaults: dict) -> str:
    """What moves the channels on ``version`` to a served one, in a sentence
    (``defaults``: the configured versions, Settings.api_versions)."""
    setting = "SOCIALPUB_LINKEDIN_API_VERSION" if family(network) == "linkedin" else "SOCIALPUB_GRAPH_API_VERSION"
    if version == defaults[family(network)]:
        if version == default_for(network):
            return "Upgrade socialpub: a newer release speaks a newer version."
        return f"Set {setting} to a newer version, or leave it unset for socialpub's own."
    if family(network) == "linkedin":
        return f"Edit the channel and clear its API version: it then uses {defaults['linkedin']}."
    return f"Reconnect the channel: it then uses {defaults['graph']}."


def channel_notice(network: str, base_url: str, api_version: Optional[str], defaults: dict,
                   today: dt.date) -> Optional[str]:
    """A sentence for a channel whose version stops being served within WARN_DAYS (or has), else None."""
    version = channel_version(network, base_url, api_version, defaults["linkedin"])
    if not version or not is_version(network, version):
        return None
    end = sunset(network, version)
    left = end.days_left(today)
    if left is None or left > WARN_DAYS:
        return None
    return f"API version {end.describe(today)}. {how_to_move(network, version, defaults)}"
