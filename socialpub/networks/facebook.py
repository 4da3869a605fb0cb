"""Facebook Page posts: ``/{page-id}/feed`` for text and links,
``/{page-id}/photos`` when there is an image.
"""
from __future__ import annotations

import logging

from .base import Adapter, Content, Limits, Published, Target, text_with_link
from .graph import field, graph_call

logger = logging.getLogger(__name__)


class FacebookAdapter(Adapter):
    """Publish to a Facebook Page with a Page access token."""

    network = "facebook"
    #: 63,206 is the widely quoted message limit; Meta does not document it.
    limits = Limits(max_text=63206)

    def publish(self, target: Target, content: Content) -> Published:
        """Create a Page post; return its ``{page-id}_{post-id}`` id.

        Raises:
          PublishError: the call failed; ``kind`` says whether to retry.
        """
        base = target.base_url.rstrip("/")
        if content.image_url:
            # /photos has no link field: keep the link readable in the caption.
            form = {"url": content.image_url, "caption": text_with_link(content),
                    "access_token": target.token}
            body = graph_call(self.network, self.timeouts, "POST",
                              f"{base}/{target.account_id}/photos", data=form)
            # The photo id is not the post id; the post is what readers open.
            post_id = body.get("post_id") or field(self.network, body, "id")
        else:
            form = {"message": content.text, "access_token": target.token}
            if content.link:
                form["link"] = content.link
            body = graph_call(self.network, self.timeouts, "POST",
                              f"{base}/{target.account_id}/feed", data=form)
            post_id = field(self.network, body, "id")
        logger.info("Published Facebook post %s on page %s.", post_id, target.account_id)
        return Published(external_id=str(post_id), url=f"https://www.facebook.com/{post_id}")
