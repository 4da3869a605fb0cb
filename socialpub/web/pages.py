"""Read-only pages until the compose form lands: recent posts and their networks."""
from flask import render_template

from ..models import Channel, Post, Publication
from . import bp


@bp.get("/")
def index():
    """The newest posts with each network's status."""
    posts = list(Post.select().order_by(Post.created_at.desc(), Post.id.desc()).limit(20))
    pubs = {}
    for p in Publication.select().where(Publication.post.in_([x.id for x in posts] or [0])):
        pubs.setdefault(p.post_id, []).append(p)
    channels = list(Channel.select().order_by(Channel.id))
    return render_template("web/index.html", posts=posts, pubs=pubs, channels=channels)
