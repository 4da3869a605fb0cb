"""Instagram posts through the content-publishing flow: create a media
container (an image, a carousel, a Reel or a Story, Instagram fetching the
media from its public URL), poll it until it is FINISHED, then
``media_publish`` it.

Instagram has no idempotency key. The container id is the only handle on a
half-done publication: ``publish`` hands it to ``checkpoint`` before publishing,
every error raised after the container exists carries it as
``PublishError.container_id``, and ``publish(..., resume={"container_id": ...})``
resumes from it. A container already PUBLISHED is never published again.
"""
from __future__ import annotations

import datetime
import logging
import time
from typing import Optional

from .base import (
    Adapter,
    Checkpoint,
    Content,
    ErrorKind,
    HeldElsewhere,
    Identity,
    NetworkLimits,
    Published,
    PublishError,
    Target,
    Timeouts,
    VideoRules,
)
from .graph import credentials, field, graph_call, is_missing_object, items_since, read_node, unix_seconds
from .insights import INSTAGRAM_MEDIA, INSTAGRAM_REEL, INSTAGRAM_STORY, Numbers, read_graph_insights

#: Meta's specifications of Reels and Stories video (the IG User Media reference).
REELS_SPEC = "https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media"

logger = logging.getLogger(__name__)

#: Container states that mean "stop polling, this will never publish".
FAILED_STATES = ("ERROR", "EXPIRED")
#: Graph's subcode for "Media download has failed" (code 9004): Meta could not fetch the image URL.
UNFETCHABLE = "2207052"


class InstagramAdapter(Adapter):
    """Publish a JPEG with a caption to an Instagram professional account.

    Parameters:
      timeouts(Timeouts): connect/read timeouts of every call.
      poll_timeout(float): longest total wait for a container to be FINISHED.
      poll_interval(float): first pause between polls; it doubles up to
        ``max_poll_interval``.
    """

    network = "instagram"
    #: "Maximum 2200 characters, 30 hashtags, and 20 @ tags"; no text-only media type.
    #: A carousel holds up to 10 images.
    limits = NetworkLimits(max_text=2200, max_hashtags=30, max_mentions=20, image_required=True,
                           photo_types=("image/jpeg",), aspect_range=(0.8, 1.91), fetches_media=True,
                           max_photos=10, links_clickable=False, max_comment=2200,
                           comment_scopes=("instagram_manage_comments", "instagram_business_manage_comments"),
                           videos=(
        VideoRules("reel", "an Instagram Reel", REELS_SPEC, min_s=3, max_s=15 * 60, max_bytes=300 * 10**6,
                   max_audio_rate=48_000, min_fps=23, max_fps=60, aspect_range=(0.01, 10), moov_first=True),
        VideoRules("story", "an Instagram Story", REELS_SPEC, min_s=3, max_s=60, max_bytes=100 * 10**6,
                   min_fps=23, max_fps=60, aspect_range=(0.1, 10), moov_first=True)))
    #: An earlier attempt is found by its own container, not by its caption.
    finds_by_text = False
    poll_timeout = 30.0
    poll_interval = 0.5
    max_poll_interval = 5.0

    def __init__(self, timeouts: Timeouts = Timeouts(), poll_timeout: Optional[float] = None,
                 poll_interval: Optional[float] = None):
        super().__init__(timeouts)
        if poll_timeout is not None:
            self.poll_timeout = poll_timeout
        if poll_interval is not None:
            self.poll_interval = poll_interval

    def publish(self, target: Target, content: Content, *, checkpoint: Optional[Checkpoint] = None,
                resume: Optional[dict] = None) -> Published:
        """Create a container for the image and caption, then publish it.

        ``content.link`` is not sent: links in captions are not clickable.

        Parameters:
          checkpoint: called with ``{"container_id": id}`` once the container
            exists and before it is published; if it raises, nothing is published.
          resume: ``{"container_id": id}`` of an earlier attempt. Its container
            is read first: PUBLISHED is adopted without publishing again,
            FINISHED or IN_PROGRESS is published, ERROR, EXPIRED or a container
            Graph does not know is replaced by a new one.

        Raises:
          PublishError: with ``container_id`` set once the container exists.
        """
        container_id = (resume or {}).get("container_id")
        if container_id:
            state = self.container_state(target, container_id)
            if state == "PUBLISHED":
                logger.info("Instagram container %s was already published.", container_id)
                return self.adopt(target, content, container_id)
            if state is not None and state not in FAILED_STATES:
                return self.publish_container(target, container_id)
            logger.info("Instagram container %s is %s; creating a new one.", container_id,
                        state or "unknown to Graph")
        if len(content.photos) > 1:
            container_id = self.create_carousel(target, content, checkpoint, resume)
        else:
            container_id = self.create_container(target, content)
        if checkpoint is not None:
            checkpoint({"container_id": container_id})
        return self.publish_container(target, container_id)

    takes_comments = True
    reads_back = True

    def read_back(self, target: Target, item_id: str) -> Optional[str]:
        """``GET /{ig-media-id}?fields=id,permalink``: the media's permalink, None when Graph says it does not exist."""
        body = read_node(self.network, self.timeouts, f"{_base(target)}/{item_id}", target, "id,permalink")
        return None if body is None else body.get("permalink") or None

    def read_metrics(self, target: Target, item_id: str, video_kind: Optional[str]) -> Numbers:
        """``GET /{ig-media-id}/insights?metric=…``: today's media metrics (``views``, ``reach``, ``likes``,
        ``comments``, ``shares``, ``saved``; a Reel's ``ig_reels_avg_watch_time``; a Story's ``views``,
        ``reach``, ``shares``), each name Instagram refuses dropped (insights.read_graph_insights)."""
        names = (INSTAGRAM_REEL if video_kind == "reel" else INSTAGRAM_STORY if video_kind == "story"
                 else INSTAGRAM_MEDIA)
        url = f"{_base(target)}/{item_id}/insights"
        values, dropped = read_graph_insights(self.network, lambda metrics: graph_call(
            self.network, self.timeouts, "GET", url, **credentials(target), params={"metric": ",".join(metrics)}),
            names)
        return Numbers(values=values, dropped=dropped)

    def read_account(self, target: Target) -> Numbers:
        """Followers (``GET /{ig-user-id}?fields=followers_count``) and the last day's accounts reached and
        views (``GET /{ig-user-id}/insights?metric=reach,views&period=day&metric_type=total_value``)."""
        node = graph_call(self.network, self.timeouts, "GET", f"{_base(target)}/{target.account_id}",
                          **credentials(target), params={"fields": "followers_count"})
        url = f"{_base(target)}/{target.account_id}/insights"
        values, dropped = read_graph_insights(self.network, lambda metrics: graph_call(
            self.network, self.timeouts, "GET", url, **credentials(target),
            params={"metric": ",".join(metrics), "period": "day", "metric_type": "total_value"}),
            {"reach": "reach", "views": "views"})
        if isinstance(node.get("followers_count"), int):
            values["followers"] = node["followers_count"]
        return Numbers(values=values, dropped=dropped)

    def comment(self, target: Target, item_id: str, text: str) -> str:
        """``POST /{ig-media-id}/comments`` with ``message`` (the ``instagram_manage_comments``
        permission, or ``instagram_business_manage_comments`` with Instagram Login)."""
        body = graph_call(self.network, self.timeouts, "POST", f"{_base(target)}/{item_id}/comments",
                          **credentials(target), data={"message": text})
        return str(field(self.network, body, "id"))

    def find_comment(self, target: Target, item_id: str, text: str) -> Optional[str]:
        """A comment of this text under the media: ``GET /{ig-media-id}/comments?fields=id,text``.
        Comments are told by their text alone: the first comment is the account's own, made
        within moments of the post, so another person's of the very same text is not expected."""
        body = graph_call(self.network, self.timeouts, "GET", f"{_base(target)}/{item_id}/comments",
                          **credentials(target), params={"fields": "id,text", "limit": 50})
        return next((str(c["id"]) for c in body.get("data") or () if c.get("text") == text), None)

    def publishing_limit(self, target: Target) -> tuple[int, int, int]:
        """``(used, total, window_s)``: the account's API posts in the rolling window, the most it
        may publish in it, and the window, read from Meta
        (``GET /{ig-user-id}/content_publishing_limit?fields=quota_usage,config``, whose answer is
        ``{"data": [{"quota_usage": 2, "config": {"quota_total": 50, "quota_duration": 86400}}]}``).

        Raises:
          PublishError: Meta refused, or answered without the limit.
        """
        body = graph_call(self.network, self.timeouts, "GET",
                          f"{_base(target)}/{target.account_id}/content_publishing_limit",
                          **credentials(target), params={"fields": "quota_usage,config"})
        try:
            reading = body["data"][0]
            config = reading["config"]
            return int(reading.get("quota_usage") or 0), int(config["quota_total"]), int(config["quota_duration"])
        except (KeyError, IndexError, TypeError, ValueError):
            raise PublishError(self.network, "Instagram's publishing limit came without its numbers",
                               kind=ErrorKind.TRANSIENT) from None

    def identify(self, target: Target) -> Identity:
        """The professional account: ``GET /{ig-user-id}?fields=username,name,profile_picture_url``."""
        body = graph_call(self.network, self.timeouts, "GET", f"{_base(target)}/{target.account_id}",
                          **credentials(target), params={"fields": "username,name,profile_picture_url"})
        name = f"@{body['username']}" if body.get("username") else body.get("name")
        return Identity(name=name, picture_url=body.get("profile_picture_url"))

    def find_published(self, target: Target, content: Content, since: datetime.datetime,
                       resume: Optional[dict] = None,
                       held_elsewhere: HeldElsewhere = lambda ids: set()) -> Optional[Published]:
        """The media of the earlier attempt's container when it is PUBLISHED, else None.

        Without ``resume["container_id"]`` nothing can have been published
        (``publish`` checkpoints the container before publishing it): None.

        Raises:
          PublishError: the container could not be read.
        """
        container_id = (resume or {}).get("container_id")
        if not container_id or self.container_state(target, container_id) != "PUBLISHED":
            return None
        return self.adopt(target, content, container_id, since, held_elsewhere)

    def container_state(self, target: Target, container_id: str) -> Optional[str]:
        """The container's ``status_code``; None when Graph says it does not exist.

        Raises:
          PublishError: with ``container_id`` set.
        """
        try:
            body = graph_call(self.network, self.timeouts, "GET", f"{_base(target)}/{container_id}",
                              **credentials(target), params={"fields": "status_code"})
            return field(self.network, body, "status_code")
        except PublishError as err:
            if is_missing_object(err):
                return None
            err.container_id = container_id
            raise

    def adopt(self, target: Target, content: Content, container_id: str,
              since: Optional[datetime.datetime] = None,
              held_elsewhere: HeldElsewhere = lambda ids: set()) -> Published:
        """The receipt of a PUBLISHED container: its media id when exactly one recent
        media of the account has this caption (made since ``since``) and is not
        held by another publication (``held_elsewhere``), else the container id.

        The container does not name the media it became, so the account's
        media are searched; any doubt or failure falls back to the container id.
        """
        after = unix_seconds(since) - self.clock_skew if since else 0.0
        params = {"fields": "id,caption,timestamp", "limit": "100"}
        try:
            matches = [item.get("id") for item in items_since(
                self.network, self.timeouts, f"{_base(target)}/{target.account_id}/media", params,
                after, **credentials(target), time_field="timestamp", max_pages=20 if since else 1)
                if item.get("caption") == content.text and item.get("id")]
            held = held_elsewhere([str(m) for m in matches]) if matches else set()
            matches = [m for m in matches if str(m) not in held]
        except PublishError as err:
            logger.warning("Could not look up the media of Instagram container %s: %s",
                           container_id, err)
            matches = []
        if len(matches) == 1 and matches[0]:
            return Published(external_id=str(matches[0]), url=self.permalink(target, str(matches[0])))
        return Published(external_id=container_id)

    def create_container(self, target: Target, content: Content) -> str:
        """Create the media container and return its id."""
        if content.video is not None:
            return self.create_video_container(target, content)
        image_url = content.photos[0].public_url if content.photos else content.image_url
        if not image_url:
            raise PublishError(self.network, "Instagram needs an image it can fetch from a public URL; it has "
                               "no text-only posts", kind=ErrorKind.PERMANENT)
        # A container is not a publication: a lost answer here leaves at most
        # an unpublished container that expires, so the error is not ambiguous.
        try:
            body = graph_call(self.network, self.timeouts, "POST",
                              f"{_base(target)}/{target.account_id}/media", creates_item=False,
                              **credentials(target),
                              data={"image_url": image_url, "caption": content.text})
        except PublishError as err:
            raise _naming_the_link(err, "the photo", image_url) from None
        container_id = field(self.network, body, "id")
        logger.info("Created Instagram container %s for account %s.", container_id, target.account_id)
        return container_id

    def create_video_container(self, target: Target, content: Content) -> str:
        """A Reel (``REELS``, shared to the feed, its poster frame as the cover) or a Story
        (``STORIES``, which carries no caption), from the video's public URL; its id."""
        video = content.video
        if not video.public_url:
            raise PublishError(self.network, "Instagram fetches the video itself from a public address, and there "
                               "is none: set SOCIALPUB_PUBLIC_BASE_URL, or keep media in S3", kind=ErrorKind.PERMANENT)
        data = {"media_type": "STORIES", "video_url": video.public_url}
        if video.kind == "reel":
            data = {"media_type": "REELS", "video_url": video.public_url, "caption": content.text,
                    "share_to_feed": "true", **({"cover_url": video.poster_url} if video.poster_url else {})}
        try:
            body = graph_call(self.network, self.timeouts, "POST", f"{_base(target)}/{target.account_id}/media",
                              creates_item=False, **credentials(target), data=data)
        except PublishError as err:
            raise _naming_the_link(err, "the video", video.public_url) from None
        container_id = field(self.network, body, "id")
        logger.info("Created Instagram %s container %s for account %s.", data["media_type"], container_id,
                    target.account_id)
        return container_id

    def create_carousel(self, target: Target, content: Content, checkpoint, resume) -> str:
        """A carousel container: one item container per image (``is_carousel_item``),
        each checkpointed (``{"uploads": {"children": [...]}}``) and reused by
        ``resume``, every one FINISHED, then the ``CAROUSEL`` container with the
        caption; return its id.

        Raises:
          PublishError: PERMANENT naming the image Instagram could not take.
        """
        children = list(((resume or {}).get("uploads") or {}).get("children") or [])
        for number, photo in enumerate(content.photos[len(children):], start=len(children) + 1):
            try:
                body = graph_call(self.network, self.timeouts, "POST", f"{_base(target)}/{target.account_id}/media",
                                  creates_item=False, **credentials(target),
                                  data={"image_url": photo.public_url, "is_carousel_item": "true"})
            except PublishError as err:
                raise _naming_the_link(err, f"image {number} of the carousel", photo.public_url) from None
            children.append(field(self.network, body, "id"))
            if checkpoint is not None:
                checkpoint({"uploads": {"children": children}})
        for number, child in enumerate(children, start=1):
            try:
                self.wait_until_ready(target, child)
            except PublishError as err:
                if checkpoint is not None and err.kind is ErrorKind.PERMANENT:
                    checkpoint({"uploads": {"children": children[:number - 1]}})  # made again next time
                err.message = f"image {number} of the carousel: {err.message}"
                err.args = (err.message,)
                raise
        body = graph_call(self.network, self.timeouts, "POST", f"{_base(target)}/{target.account_id}/media",
                          creates_item=False, **credentials(target),
                          data={"media_type": "CAROUSEL", "children": ",".join(children), "caption": content.text})
        container_id = field(self.network, body, "id")
        logger.info("Created Instagram carousel %s of %d images for account %s.", container_id, len(children),
                    target.account_id)
        return container_id

    def publish_container(self, target: Target, container_id: str) -> Published:
        """Wait for ``container_id`` to be ready and publish it, unless it already is.

        A PUBLISHED container is returned as is (its own id): the media id of
        an earlier publish is not retrievable from the container.

        Raises:
          PublishError: with ``container_id`` set.
        """
        try:
            if self.wait_until_ready(target, container_id) == "PUBLISHED":
                logger.info("Instagram container %s was already published.", container_id)
                return Published(external_id=container_id)
            body = graph_call(self.network, self.timeouts, "POST",
                              f"{_base(target)}/{target.account_id}/media_publish",
                              **credentials(target), data={"creation_id": container_id})
            media_id = field(self.network, body, "id")
        except PublishError as err:
            err.container_id = container_id
            raise
        logger.info("Published Instagram media %s from container %s.", media_id, container_id)
        return Published(external_id=media_id, url=self.permalink(target, media_id))

    def permalink(self, target: Target, media_id: str) -> Optional[str]:
        """The post's address on Instagram (``GET /{media-id}?fields=permalink``), or None:
        the media is published already, so no answer here changes the outcome."""
        try:
            body = graph_call(self.network, self.timeouts, "GET", f"{_base(target)}/{media_id}",
                              **credentials(target), params={"fields": "permalink"})
        except PublishError as err:
            logger.info("Instagram media %s: no permalink (%s).", media_id, err.message)
            return None
        link = body.get("permalink")
        return link if isinstance(link, str) and link.startswith("https://") else None

    def wait_until_ready(self, target: Target, container_id: str) -> str:
        """Poll the container at once, then at growing intervals; return FINISHED or PUBLISHED.

        Raises:
          PublishError: PERMANENT when the container is ERROR/EXPIRED,
            TRANSIENT when it is still not ready after ``poll_timeout``.
        """
        deadline = time.monotonic() + self.poll_timeout
        interval = self.poll_interval
        while True:
            body = graph_call(self.network, self.timeouts, "GET", f"{_base(target)}/{container_id}",
                              **credentials(target), params={"fields": "status_code,status"})
            state = body.get("status_code")
            if state in ("FINISHED", "PUBLISHED"):
                return state
            if state in FAILED_STATES:
                detail = f": {body['status']}" if body.get("status") else ""
                raise PublishError(self.network, f"media container {container_id} is {state}{detail}",
                                   kind=ErrorKind.PERMANENT, code=state)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishError(self.network, f"media container {container_id} is still {state} "
                                   f"after {self.poll_timeout:g}s", kind=ErrorKind.TRANSIENT, code=state)
            time.sleep(min(interval, remaining))
            interval = min(interval * 2, self.max_poll_interval)


def _naming_the_link(err: PublishError, what: str, url: str) -> PublishError:
    """``err``, its message naming the link when Meta could not fetch it (9004,
    subcode 2207052: Meta's own words, "Only photo or video can be accepted as
    media type.", do not say which link, nor that it is the link at fault).
    Still PERMANENT: the same link is fetched the same way next time."""
    if err.subcode == UNFETCHABLE:
        err.message = f"Instagram could not fetch {what} at {url} (Meta: {err.message})"
        err.args = (err.message,)
    return err


def _base(target: Target) -> str:
    return target.base_url.rstrip("/")
