"""Facebook Login's side of a connection, as Meta documents it: the code is
exchanged for a user token (Manually Build a Login Flow), that token for a
long-lived one (``grant_type=fb_exchange_token``, Long-Lived Access Tokens),
the grant is checked (``/debug_token`` says the token is this app's;
``/me/permissions`` says what the person declined), and the Pages it may
publish to are listed with their Page tokens: ``/me/accounts``, and for Pages
that belong to a Business portfolio ``/me/businesses`` → ``owned_pages`` /
``client_pages``. A Page whose ``instagram_business_account`` is set offers
that Instagram professional account too (Instagram API with Facebook Login).

Page tokens got from a long-lived user token do not expire. Every Graph call
carries ``appsecret_proof``.
"""
from __future__ import annotations

from ..config import Settings
from ..networks.base import ErrorKind, PublishError, Timeouts
from ..networks.graph import graph_call, graph_error
from ..networks.http import json_body, send
from .store import Account, NotConnected

#: What each choice asks for (without a Facebook Login for Business
#: configuration, which holds its own list), and what each permission is for.
SCOPES = {
    "pages": ("pages_show_list", "pages_read_engagement", "pages_manage_posts", "pages_manage_engagement",
              "read_insights", "business_management"),
    "instagram": ("pages_show_list", "pages_read_engagement", "instagram_basic", "instagram_content_publish",
                  "instagram_manage_comments", "instagram_manage_insights", "business_management"),
}
#: Without these nothing can be published; business_management only adds portfolio Pages, the
#: permission to comment only first comments (a channel without it is told so in the compose form),
#: and those of insights only the posts' numbers (Analytics).
NEEDED = {
    "pages": ("pages_show_list", "pages_read_engagement", "pages_manage_posts"),
    "instagram": ("pages_show_list", "pages_read_engagement", "instagram_basic", "instagram_content_publish"),
}
PURPOSE = {
    "pages_show_list": "to list the Pages you manage",
    "pages_read_engagement": "to read each Page's name and posts, and to find a post whose answer was lost",
    "pages_manage_posts": "to publish posts on your Pages",
    "business_management": "to list the Pages of your Business portfolios",
    "pages_manage_engagement": "to post a first comment under your Page's posts",
    "instagram_manage_comments": "to post a first comment under the Instagram account's posts",
    "read_insights": "to read how your Pages' posts did (Analytics)",
    "instagram_manage_insights": "to read how the Instagram account's posts did (Analytics)",
    "instagram_basic": "to read the Instagram account's name and posts",
    "instagram_content_publish": "to publish posts on the Instagram account",
}
PAGE_FIELDS = ("id,name,access_token,tasks,picture{url},"
               "instagram_business_account{id,username,name,profile_picture_url}")
TIMEOUTS = Timeouts(connect=5, read=15)
#: Pages of one list read at most (100 a page).
MAX_PAGES = 10


def graph_base(settings: Settings) -> str:
    return f"{settings.facebook_graph_url}/{settings.graph_api_version}"


def _get(settings: Settings, path: str, token: str, **params) -> dict:
    return graph_call("facebook", TIMEOUTS, "GET", f"{graph_base(settings)}/{path}", token=token,
                      app_secret=settings.facebook_app_secret, params=params)


def long_lived(settings: Settings, token: dict) -> dict:
    """The long-lived user token (about 60 days) for the short-lived one of ``token``.

    Raises:
      PublishError: Facebook refused or did not answer.
    """
    response = send("facebook", TIMEOUTS, "GET", f"{graph_base(settings)}/oauth/access_token",
                    params={"grant_type": "fb_exchange_token", "client_id": settings.facebook_app_id,
                            "client_secret": settings.facebook_app_secret,
                            "fb_exchange_token": token["access_token"]})
    if response.status_code >= 400:
        raise graph_error("facebook", response)
    answer = json_body(response)
    if not isinstance(answer, dict) or not answer.get("access_token"):
        raise PublishError("facebook", f"the token exchange answered {response.text[:100]!r}",
                           kind=ErrorKind.TRANSIENT, http_status=response.status_code)
    return {"access_token": answer["access_token"], "expires_in": answer.get("expires_in")}


def check_grant(settings: Settings, user_token: str, choice: str) -> str:
    """That the token is this app's and valid, and every permission ``choice``
    needs was granted; return the granted permissions, space-separated.

    Raises:
      NotConnected: another app's token, or a permission declined (named, with its purpose).
    """
    app_token = f"{settings.facebook_app_id}|{settings.facebook_app_secret}"
    info = graph_call("facebook", TIMEOUTS, "GET", f"{graph_base(settings)}/debug_token", token=app_token,
                      params={"input_token": user_token}).get("data") or {}
    if not info.get("is_valid") or str(info.get("app_id")) != settings.facebook_app_id:
        raise NotConnected("Facebook answered with a token that is not valid for this app. Nothing was "
                           "connected: start again from the Channels page.")
    granted = {p["permission"] for p in _get(settings, "me/permissions", user_token).get("data") or []
               if p.get("status") == "granted"}
    missing = [p for p in NEEDED[choice] if p not in granted]
    if missing:
        needs = "; ".join(f"{p} ({PURPOSE[p]})" for p in missing)
        raise NotConnected(f"Facebook did not grant every permission socialpub needs: {needs}. Nothing was "
                           f"connected: connect again and allow them (or, on Facebook, Settings → Business "
                           f"integrations → socialpub → edit the permissions).")
    return " ".join(sorted(granted))


def _listed(settings: Settings, path: str, token: str, fields: str):
    """Every item of a Graph list edge, following ``paging.next`` (at most MAX_PAGES pages)."""
    url, params = f"{graph_base(settings)}/{path}", {"fields": fields, "limit": 100}
    for _ in range(MAX_PAGES):
        body = graph_call("facebook", TIMEOUTS, "GET", url, token=token, app_secret=settings.facebook_app_secret,
                          params=params)
        yield from (item for item in body.get("data") or [] if isinstance(item, dict))
        url = (body.get("paging") or {}).get("next")
        if not url:
            return
        params = None


def pages(settings: Settings, user_token: str, granted: str) -> list:
    """``[(page, business name or None)]``: the person's Pages, then those of
    their Business portfolios that are not among them (with business_management)."""
    found = {page["id"]: (page, None) for page in _listed(settings, "me/accounts", user_token, PAGE_FIELDS)}
    if "business_management" in granted.split():
        for business in _listed(settings, "me/businesses", user_token, "id,name"):
            for edge in ("owned_pages", "client_pages"):
                for page in _listed(settings, f"{business['id']}/{edge}", user_token, PAGE_FIELDS):
                    found.setdefault(page["id"], (page, business.get("name") or business["id"]))
    return list(found.values())


def accounts(settings: Settings, token: dict, choice: str) -> tuple:
    """``(accounts, long-lived user token, problems)`` for ``choice`` "pages"
    (one per Page) or "instagram" (one per Page's Instagram professional
    account); ``problems`` names what cannot be connected, and why.

    Raises:
      NotConnected: the grant is not usable (see check_grant).
      PublishError: Facebook refused or did not answer.
    """
    user = long_lived(settings, token)
    granted = check_grant(settings, user["access_token"], choice)
    user["scope"] = granted
    found, problems = [], []
    for page, business in pages(settings, user["access_token"], granted):
        where = f"Business portfolio “{business}”" if business else None
        if not page.get("access_token"):
            problems.append(f"“{page.get('name')}”{f' ({where})' if where else ''}: Facebook gave no Page token "
                            f"— you need a task on this Page (in the Business portfolio's settings, "
                            f"People → assign the Page with content rights).")
            continue
        if choice == "pages":
            if "CREATE_CONTENT" not in (page.get("tasks") or ["CREATE_CONTENT"]):
                problems.append(f"“{page['name']}”: you may not create content on this Page.")
                continue
            picture = ((page.get("picture") or {}).get("data") or {}).get("url")
            found.append(Account("facebook", page["id"], page.get("name") or page["id"], picture,
                                 page["access_token"], where))
            continue
        ig = page.get("instagram_business_account")
        if not ig:
            problems.append(f"“{page.get('name')}” has no Instagram professional account linked: in Instagram, "
                            f"switch the account to a professional (Business or Creator) account and link "
                            f"it to this Page.")
            continue
        found.append(Account("instagram", ig["id"], ig.get("name") or ig.get("username") or ig["id"],
                             ig.get("profile_picture_url"), page["access_token"],
                             f"@{ig.get('username')} · through the Page “{page.get('name')}”"))
    return found, user, problems

