"""A video checked before it is scheduled: against every kind of video post each
network takes (networks' ``VideoRules``: a Reel, a Story, a feed video, a
message), pass or fail per kind with each reason and its fix in plain words, from
the facts judged at upload (media/videos.py) — nothing is decoded again."""
from __future__ import annotations

from dataclasses import dataclass

from ..models import Media
from ..networks import LIMITS, NETWORKS


@dataclass(frozen=True)
class Verdict:
    network: str
    kind: str
    label: str
    problems: tuple
    source: str

    @property
    def ok(self) -> bool:
        return not self.problems


def check(media: Media, networks=NETWORKS) -> list:
    """A Verdict for each kind of video post of each of ``networks``; [] for a photo."""
    if not media.video:
        return []
    return [Verdict(network, rules.kind, rules.label,
                    tuple(rules.problems(media.video, width=media.width, height=media.height,
                                         size=media.size_bytes, content_type=media.content_type)),
                    rules.source)
            for network in networks for rules in LIMITS[network].videos]
