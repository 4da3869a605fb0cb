"""LinkedIn's side of a connection: which scopes each choice asks for, and
who the token belongs to — the member (``/v2/userinfo``, Sign In with LinkedIn
using OpenID Connect) and the organization pages they administer
(``/rest/organizationAcls`` and ``/rest/organizations/{id}``, Community
Management API)."""
from __future__ import annotations

from ..networks.base import ErrorKind, PublishError, Timeouts
from ..networks.http import json_body, send
from ..networks.linkedin import linkedin_error
from .store import Account

#: What each choice asks for, and no more (LinkedIn asks the person for all of
#: a request's scopes at once): who they are, the right to post, and to read how posts did.
SCOPES = {
    "member": ("openid", "profile", "w_member_social", "r_member_postAnalytics"),
    "organization": ("openid", "profile", "r_organization_admin", "w_organization_social", "rw_organization_admin"),
}
#: Without these nothing can be published; the analytics scopes only give the posts' numbers (their
#: items say so when LinkedIn refuses to show them).
NEEDED = {
    "member": ("openid", "profile", "w_member_social"),
    "organization": ("openid", "profile", "r_organization_admin", "w_organization_social"),
}
#: What each scope is for, in the words shown when one was not granted.
PURPOSE = {
    "openid": "to know who connected the account",
    "profile": "to show the account's name and picture",
    "w_member_social": "to publish posts on your profile",
    "r_organization_admin": "to list the pages you administer",
    "w_organization_social": "to publish posts on those pages",
    "r_member_postAnalytics": "to read how your posts did (Analytics)",
    "rw_organization_admin": "to read how the pages' posts did (Analytics)",
}
TIMEOUTS = Timeouts(connect=5, read=15)


def missing_scopes(choice: str, granted: str | None) -> list:
    """The scopes ``choice`` needs that LinkedIn did not grant (``granted`` as the
    token endpoint answers it: comma- or space-separated)."""
    have = set((granted or "").replace(",", " ").split())
    return [s for s in NEEDED[choice] if s not in have]


def accounts(api_url: str, token: str, choice: str, version: str) -> list:
    """The member (``choice`` "member") or the pages they administer (``version``: the LinkedIn-Version header).

    Raises:
      PublishError: LinkedIn refused or did not answer, in its words.
    """
    headers = {"Authorization": f"Bearer {token}"}
    me = _get(f"{api_url}/v2/userinfo", headers)
    if choice == "member":
        return [Account("linkedin", f"urn:li:person:{me['sub']}", me.get("name") or me["sub"], me.get("picture"))]
    rest = dict(headers, **{"LinkedIn-Version": version, "X-Restli-Protocol-Version": "2.0.0"})
    acls = _get(f"{api_url}/rest/organizationAcls", rest,
                params={"q": "roleAssignee", "role": "ADMINISTRATOR", "state": "APPROVED"})
    found = []
    for element in acls.get("elements") or []:
        urn = element.get("organization") or ""
        if not urn.startswith("urn:li:organization:"):
            continue
        page = _get(f"{api_url}/rest/organizations/{urn.rsplit(':', 1)[1]}", rest)
        found.append(Account("linkedin", urn, page.get("localizedName") or urn))
    return found


def _get(url, headers, params=None) -> dict:
    response = send("linkedin", TIMEOUTS, "GET", url, headers=headers, params=params)
    if response.status_code >= 400:
        raise linkedin_error(response)
    body = json_body(response)
    if not isinstance(body, dict):
        raise PublishError("linkedin", f"{url.split('?')[0]} answered {response.text[:100]!r}, not JSON",
                           kind=ErrorKind.TRANSIENT, http_status=response.status_code)
    return body
