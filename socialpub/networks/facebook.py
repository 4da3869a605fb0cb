"""Facebook Page posts: ``/{page-id}/feed`` for text and links,
``/{page-id}/photos`` when there is an image; a video as a Reel, a Story or a
feed video (facebook_video.py).

Graph has no idempotency key, but the Page feed can be read back: an attempt
whose answer was lost is found by its text among the posts made since it began.
"""
from __future__ import annotations

import datetime
import json
import logging
from typing import Optional

from .base import (
    Adapter,
    Content,
    HeldElsewhere,
    Identity,
    NetworkLimits,
    Published,
    Target,
    Unverifiable,
    VideoRules,
    text_with_link,
)
from .facebook_video import PageVideos
from .graph import credentials, field, graph_call, items_since, read_node, unix_seconds
from .insights import FACEBOOK_POST, Numbers, read_graph_insights

logger = logging.getLogger(__name__)


def sent_text(content: Content) -> str:
    """The text the Page post carries: the caption of a photo or a video's description, else the message."""
    # /photos and videos have no link field: the link is kept readable in the text.
    return text_with_link(content) if content.has_media else content.text


def _same_text(ours: str, theirs) -> bool:
    # Tolerate what a network may normalise: line endings and outer whitespace.
    def norm(text):
        return text.replace("\r\n", "\n").strip()
    return isinstance(theirs, str) and norm(ours) == norm(theirs)


def _file(photo) -> tuple:
    """A photo as a multipart file: (name, bytes, type)."""
    return f"photo.{photo.content_type.split('/')[1]}", photo.data, photo.content_type


def post_url(post_id: str) -> str:
    return f"https://www.facebook.com/{post_id}"


class FacebookAdapter(Adapter):
    """Publish to a Facebook Page with a Page access token."""

    network = "facebook"
    #: 63,206 is the widely quoted message limit; Meta does not document it.
    #: Photos of one post: Meta documents no number for attached_media; 10 keeps to Instagram's.
    #: A comment is posted as the Page with ``pages_manage_engagement`` (Graph's Page Comments).
    limits = NetworkLimits(max_text=63206, max_photos=10, max_comment=8000,
                           comment_scopes=("pages_manage_engagement",), videos=(
        VideoRules("reel", "a Facebook Reel", "https://developers.facebook.com/docs/video-api/guides/reels-publishing",
                   min_s=3, max_s=90, content_types=("video/mp4",), min_fps=24, max_fps=60, min_width=540,
                   min_height=960, aspect_range=(9 / 16, 9 / 16), instead="post it as a feed video"),
        VideoRules("story", "a Facebook Story", "https://developers.facebook.com/docs/page-stories-api", max_s=60,
                   instead="post it as a feed video"),
        VideoRules("video", "a Facebook video", "https://developers.facebook.com/docs/video-api/guides/publishing",
                   max_s=4 * 3600, max_bytes=10 * 10**9)))

    def publish(self, target: Target, content: Content, *, checkpoint=None, resume=None) -> Published:
        """Create a Page post; return its ``{page-id}_{post-id}`` id.

        A video goes as its kind says (facebook_video.PageVideos: each id and part
        checkpointed in ``uploads``, resumed from the bytes Meta holds).
        One image is one ``/photos`` call (its URL, or the bytes as ``source``);
        several are each uploaded unpublished, then attached to one ``/feed``
        post (``attached_media``). The uploads are checkpointed
        (``{"uploads": {"photo_ids": [...]}}``) and ``resume`` reuses them.

        Raises:
          PublishError: the call failed; ``kind`` says whether to retry.
        """
        base = target.base_url.rstrip("/")
        if content.video is not None:
            return PageVideos(self.timeouts).publish(target, content, sent_text(content), checkpoint, resume)
        if len(content.photos) > 1:
            return self._multi_photo(target, content, checkpoint, resume)
        if content.has_image:
            form = {"caption": sent_text(content)}
            upload = {}
            if content.photos:  # an upload: the bytes themselves, as multipart "source"
                upload = {"files": {"source": _file(content.photos[0])}}
            else:
                form["url"] = content.image_url
            body = graph_call(self.network, self.timeouts, "POST",
                              f"{base}/{target.account_id}/photos", **credentials(target), data=form, **upload)
            # The photo id is not the post id; the post is what readers open.
            post_id = body.get("post_id") or field(self.network, body, "id")
        else:
            form = {"message": sent_text(content)}
            if content.link:
                form["link"] = content.link
            body = graph_call(self.network, self.timeouts, "POST",
                              f"{base}/{target.account_id}/feed", **credentials(target), data=form)
            post_id = field(self.network, body, "id")
        logger.info("Published Facebook post %s on page %s.", post_id, target.account_id)
        return Published(external_id=str(post_id), url=post_url(post_id))

    def _multi_photo(self, target: Target, content: Content, checkpoint, resume) -> Published:
        base = target.base_url.rstrip("/")
        photo_ids = list(((resume or {}).get("uploads") or {}).get("photo_ids") or [])
        for photo in content.photos[len(photo_ids):]:
            # Unpublished: nothing shows on the Page until the post attaches it,
            # so a lost answer leaves an invisible photo, not a post.
            body = graph_call(self.network, self.timeouts, "POST", f"{base}/{target.account_id}/photos",
                              creates_item=False, **credentials(target), data={"published": "false"},
                              files={"source": _file(photo)})
            photo_ids.append(field(self.network, body, "id"))
            if checkpoint is not None:
                checkpoint({"uploads": {"photo_ids": photo_ids}})
        form = {"message": sent_text(content)}
        form.update({f"attached_media[{i}]": json.dumps({"media_fbid": pid}) for i, pid in enumerate(photo_ids)})
        body = graph_call(self.network, self.timeouts, "POST", f"{base}/{target.account_id}/feed",
                          **credentials(target), data=form)
        post_id = field(self.network, body, "id")
        logger.info("Published Facebook post %s with %d photos on page %s.", post_id, len(photo_ids),
                    target.account_id)
        return Published(external_id=str(post_id), url=post_url(post_id))

    takes_comments = True
    reads_back = True

    def read_back(self, target: Target, item_id: str) -> Optional[str]:
        """``GET /{post-id}?fields=id,permalink_url``: the post's address, None when Graph says it does not exist."""
        body = read_node(self.network, self.timeouts, f"{target.base_url.rstrip('/')}/{item_id}", target,
                         "id,permalink_url")
        return None if body is None else body.get("permalink_url") or post_url(item_id)

    def read_metrics(self, target: Target, item_id: str, video_kind: Optional[str]) -> Numbers:
        """A Page post's numbers: ``GET /{post-id}/insights?metric=…`` (``post_media_view``,
        ``post_total_media_view_unique``, ``post_clicks``, ``post_reactions_by_type_total``: the names
        since 2025-11-15 and 2026-06-15), and its comments and shares
        (``GET /{post-id}?fields=shares,comments.summary(true).limit(0)``). A video (a Reel, a Story, a
        feed video) is read by its post's fields alone: its own insights are not asked for."""
        base = target.base_url.rstrip("/")
        values, dropped = {}, ()
        if not video_kind:
            values, dropped = read_graph_insights(self.network, lambda metrics: graph_call(
                self.network, self.timeouts, "GET", f"{base}/{item_id}/insights", **credentials(target),
                params={"metric": ",".join(metrics)}), FACEBOOK_POST)
        fields = "shares,comments.summary(true).limit(0)" + (",reactions.summary(true).limit(0)" if video_kind else "")
        node = graph_call(self.network, self.timeouts, "GET", f"{base}/{item_id}", **credentials(target),
                          params={"fields": fields})
        comments = (node.get("comments") or {}).get("summary") or {}
        if isinstance(comments.get("total_count"), int):
            values["comments"] = comments["total_count"]
        # Graph leaves ``shares`` out of a post nobody shared.
        values["shares"] = int((node.get("shares") or {}).get("count") or 0)
        reactions = (node.get("reactions") or {}).get("summary") or {}
        if isinstance(reactions.get("total_count"), int):
            values["reactions"] = reactions["total_count"]
        return Numbers(values=values, dropped=dropped)

    def read_account(self, target: Target) -> Numbers:
        """The Page's followers (``GET /{page-id}?fields=followers_count``) and its last day's
        ``page_total_media_view_unique`` (reach) and ``page_media_view`` (views)."""
        base = target.base_url.rstrip("/")
        node = graph_call(self.network, self.timeouts, "GET", f"{base}/{target.account_id}", **credentials(target),
                          params={"fields": "followers_count"})
        values, dropped = read_graph_insights(self.network, lambda metrics: graph_call(
            self.network, self.timeouts, "GET", f"{base}/{target.account_id}/insights", **credentials(target),
            params={"metric": ",".join(metrics), "period": "day"}),
            {"page_total_media_view_unique": "reach", "page_media_view": "views"})
        if isinstance(node.get("followers_count"), int):
            values["followers"] = node["followers_count"]
        return Numbers(values=values, dropped=dropped)

    def comment(self, target: Target, item_id: str, text: str) -> str:
        """``POST /{post-id}/comments`` with ``message``, as the Page (its token; the
        ``pages_manage_engagement`` permission)."""
        body = graph_call(self.network, self.timeouts, "POST", f"{target.base_url.rstrip('/')}/{item_id}/comments",
                          **credentials(target), data={"message": text})
        return str(field(self.network, body, "id"))

    def find_comment(self, target: Target, item_id: str, text: str) -> Optional[str]:
        """The Page's own comment of this text: ``GET /{post-id}/comments?fields=id,message,from``."""
        body = graph_call(self.network, self.timeouts, "GET", f"{target.base_url.rstrip('/')}/{item_id}/comments",
                          **credentials(target), params={"fields": "id,message,from", "limit": 100})
        for comment in body.get("data") or ():
            author = comment.get("from") if isinstance(comment.get("from"), dict) else {}
            if comment.get("message") == text and str(author.get("id", target.account_id)) == target.account_id:
                return str(comment["id"])
        return None

    def identify(self, target: Target) -> Identity:
        """The Page's name and picture: ``GET /{page-id}?fields=name,picture``."""
        body = graph_call(self.network, self.timeouts, "GET", f"{target.base_url.rstrip('/')}/{target.account_id}",
                          **credentials(target), params={"fields": "name,picture"})
        picture = body.get("picture", {}).get("data", {}) if isinstance(body.get("picture"), dict) else {}
        return Identity(name=body.get("name"), picture_url=picture.get("url") if isinstance(picture, dict) else None)

    def find_published(self, target: Target, content: Content, since: datetime.datetime,
                       resume: Optional[dict] = None,
                       held_elsewhere: HeldElsewhere = lambda ids: set()) -> Optional[Published]:
        """The Page post with this text made since ``since`` (less ``clock_skew``)
        that no other publication holds (``held_elsewhere``), or None.

        Reads ``/{page-id}/feed`` newest first.

        Raises:
          Unverifiable: the post has no text to recognise it by (a bare link),
            or several posts with this text are held by no publication, so
            this one's cannot be told apart.
          PublishError: the feed could not be read.
        """
        if content.video is not None and content.video.kind != "video":
            return PageVideos(self.timeouts).find(target, content, resume)
        text = sent_text(content)
        if not text.strip():
            raise Unverifiable(self.network, "a post without text cannot be recognised in the feed")
        after = unix_seconds(since) - self.clock_skew
        params = {"fields": "id,message,created_time", "since": str(int(after)), "limit": "100"}
        url = f"{target.base_url.rstrip('/')}/{target.account_id}/feed"
        matches = [str(item["id"]) for item in items_since(self.network, self.timeouts, url, params, after,
                                                           **credentials(target))
                   if _same_text(text, item.get("message")) and item.get("id")]
        held = held_elsewhere(matches) if matches else set()
        unheld = [post_id for post_id in matches if post_id not in held]
        if not unheld:
            return None
        if len(unheld) > 1:
            raise Unverifiable(self.network, f"{len(unheld)} posts with this text were made on the page "
                               f"since the attempt began ({', '.join(unheld[:3])}); which is this one's "
                               f"cannot be told")
        logger.info("Found Facebook post %s on page %s from an earlier attempt.", unheld[0],
                    target.account_id)
        return Published(external_id=unheld[0], url=post_url(unheld[0]))
