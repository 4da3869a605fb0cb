"""Who the sandbox's Meta side knows: its two apps (a Facebook app with
Facebook Login, and the Instagram app of Instagram Login) and one person with
their Pages, Business portfolio and Instagram accounts. The demo channels'
Page and Instagram account are among them, so that connecting in
``socialpub up`` reconnects those channels."""
from __future__ import annotations

#: (app id, app secret) of each app; ``socialpub up`` gives them to the web app.
FACEBOOK_APP = ("100000000000001", "sandbox-facebook-secret")
INSTAGRAM_APP = ("200000000000002", "sandbox-instagram-secret")
APP_SECRETS = dict((FACEBOOK_APP, INSTAGRAM_APP))
#: The Facebook Login for Business configuration the sandbox knows, and what it grants.
LOGIN_CONFIG = ("300000000000003", ("pages_show_list", "pages_read_engagement", "pages_manage_posts",
                                    "business_management", "instagram_basic", "instagram_content_publish",
                                    "pages_manage_engagement", "instagram_manage_comments", "read_insights",
                                    "instagram_manage_insights"))

PERSON = {"id": "10160000000000001", "name": "Sandra Box"}
#: Instagram professional (and one personal) accounts, by IG user id.
IG_ACCOUNTS = {
    "17841405822304914": {"username": "sandbox_ig", "name": "Sandbox Instagram", "account_type": "BUSINESS"},
    "17841400000000077": {"username": "sandbox_hotel", "name": "Sandbox Hotel", "account_type": "BUSINESS"},
    "17841400000000099": {"username": "sandra.box", "name": "Sandra Box", "account_type": "PERSONAL"},
}
#: The Pages: whose they are (the person's own, or a Business portfolio's), the
#: person's tasks on them (none: no Page token), and the Instagram account linked.
PAGES = {
    "546349135390552": {"name": "Sandbox Page", "business": None, "ig": "17841405822304914",
                        "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"]},
    "546349135390553": {"name": "Sandbox Bakery", "business": None, "ig": None,
                        "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MODERATE", "MANAGE"]},
    "546349135390554": {"name": "Sandbox Hotel", "business": "owned", "ig": "17841400000000077",
                        "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MODERATE", "MANAGE"]},
    "546349135390555": {"name": "Client Café", "business": "client", "ig": None, "tasks": []},
}
BUSINESS = {"id": "980000000000001", "name": "Sandbox Holdings"}
