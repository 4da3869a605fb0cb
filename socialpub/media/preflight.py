"""A video checked before it is scheduled: against every kind of video post each
network takes (networks' ``VideoRules``: a Reel, a Story, a feed video, a
message), pass or fail per kind with each reason and its fix in plain words, from
the facts judged at upload (media/videos.py) — nothing is decoded again. A kind it
fails says whether a new version made by transcoding (renditions.py) would fit,
and what that version changes; a length out of range is not fixable (trim it)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..models import Media
from ..networks import LIMITS, NETWORKS
from . import renditions


@dataclass(frozen=True)
class Verdict:
    network: str
    kind: str
    label: str
    problems: tuple
    source: str
    #: A kind it fails: whether a rendition would fit it, and what that rendition changes, in words.
    fixable: bool = False
    rendition: Optional[str] = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check(media: Media, networks=NETWORKS) -> list:
    """A Verdict for each kind of video post of each of ``networks``; [] for a photo."""
    if not media.video:
        return []
    verdicts = []
    for network in networks:
        for rules in LIMITS[network].videos:
            problems = tuple(rules.problems(media.video, width=media.width, height=media.height,
                                            size=media.size_bytes, content_type=media.content_type))
            offer = renditions.offer(media, rules) if problems else renditions.Offer(False)
            verdicts.append(Verdict(network, rules.kind, rules.label, problems, rules.source, offer.fixable,
                                    offer.changes))
    return verdicts
