"""Facebook Page posts: ``/{page-id}/feed`` for text and links,
``/{page-id}/photos`` when there is an image.

Graph has no idempotency key, but the Page feed can be read back: an attempt
whose answer was lost is found by its text among the posts made since it began.
"""
from __future__ import annotations

import datetime
import logging
from typing import Optional

from .base import Adapter, Content, Limits, Published, Target, Unverifiable, text_with_link
from .graph import field, graph_call, items_since, unix_seconds

logger = logging.getLogger(__name__)


def sent_text(content: Content) -> str:
    """The text the Page post carries: the caption of a photo, else the message."""
    # /photos has no link field: the link is kept readable in the caption.
    return text_with_link(content) if content.image_url else content.text


def _same_text(ours: str, theirs) -> bool:
    # Tolerate what a network may normalise: line endings and outer whitespace.
    def norm(text):
        return text.replace("\r\n", "\n").strip()
    return isinstance(theirs, str) and norm(ours) == norm(theirs)


def post_url(post_id: str) -> str:
    return f"https://www.facebook.com/{post_id}"


class FacebookAdapter(Adapter):
    """Publish to a Facebook Page with a Page access token."""

    network = "facebook"
    #: 63,206 is the widely quoted message limit; Meta does not document it.
    limits = Limits(max_text=63206)

    def publish(self, target: Target, content: Content, *, checkpoint=None, resume=None) -> Published:
        """Create a Page post; return its ``{page-id}_{post-id}`` id.

        ``checkpoint`` and ``resume`` are ignored: a post is one call.

        Raises:
          PublishError: the call failed; ``kind`` says whether to retry.
        """
        base = target.base_url.rstrip("/")
        if content.image_url:
            form = {"url": content.image_url, "caption": sent_text(content)}
            body = graph_call(self.network, self.timeouts, "POST",
                              f"{base}/{target.account_id}/photos", token=target.token, data=form)
            # The photo id is not the post id; the post is what readers open.
            post_id = body.get("post_id") or field(self.network, body, "id")
        else:
            form = {"message": sent_text(content)}
            if content.link:
                form["link"] = content.link
            body = graph_call(self.network, self.timeouts, "POST",
                              f"{base}/{target.account_id}/feed", token=target.token, data=form)
            post_id = field(self.network, body, "id")
        logger.info("Published Facebook post %s on page %s.", post_id, target.account_id)
        return Published(external_id=str(post_id), url=post_url(post_id))

    def find_published(self, target: Target, content: Content, since: datetime.datetime,
                       resume: Optional[dict] = None) -> Optional[Published]:
        """The Page post with this text made since ``since`` (less ``clock_skew``), or None.

        Reads ``/{page-id}/feed`` newest first; when several posts match, the
        earliest is returned (the first attempt's).

        Raises:
          Unverifiable: the post has no text to recognise it by (a bare link).
          PublishError: the feed could not be read.
        """
        text = sent_text(content)
        if not text.strip():
            raise Unverifiable(self.network, "a post without text cannot be recognised in the feed")
        after = unix_seconds(since) - self.clock_skew
        params = {"fields": "id,message,created_time", "since": str(int(after)), "limit": "100"}
        url = f"{target.base_url.rstrip('/')}/{target.account_id}/feed"
        matches = [item for item in items_since(self.network, self.timeouts, url, params, after,
                                                token=target.token)
                   if _same_text(text, item.get("message")) and item.get("id")]
        if not matches:
            return None
        post_id = str(matches[-1]["id"])
        logger.info("Found Facebook post %s on page %s from an earlier attempt.", post_id,
                    target.account_id)
        return Published(external_id=post_id, url=post_url(post_id))
