"""WhatsApp under /api: a channel's contacts (with their consent), CSV
import, opt-outs, audiences and templates (synced from Meta), and each
WhatsApp publication's recipients."""
from __future__ import annotations

from flask import g, jsonify, request

from ...errors import InvalidInput, NotFound
from ...input_checks import refuse_unstorable_text
from ...models import Contact, Publication
from ...people.roles import ADMIN, EDITOR, requires
from ...whatsapp import contacts, ledger, templates
from .. import serialize, shapes
from ..serialize import answer
from .blueprint import bp
from .helpers import json_body, settings


def _by() -> str:
    return g.user.email


@bp.get("/channels/<int:channel_id>/contacts")
def list_contacts(channel_id):
    """The channel's contacts (``?audience=`` one audience's), with their consent; how many of
    each audience (and of ``everyone``) a post will actually message, by the way it is sent."""
    contacts.whatsapp_channel(channel_id)
    rows = contacts.listed(channel_id, request.args.get("audience") or None)
    reach = contacts.reach(channel_id)
    return answer(shapes.ContactList, items=[serialize.contact(c, names) for c, names in rows],
                  everyone=serialize.reach(reach[None]),
                  audiences=[serialize.reach(reach[n], n) for n, _ in contacts.audiences(channel_id)])


@bp.post("/channels/<int:channel_id>/contacts")
@requires(EDITOR)
def add_contacts(channel_id):
    """One contact, or ``{"contacts": [...]}``: each ``{phone, name?, opted_in, opt_in_method, opted_in_at?,
    audiences?}``. A contact who opted out keeps it (listed in ``kept_opted_out``)."""
    channel = contacts.whatsapp_channel(channel_id)
    body = json_body()
    items = body.get("contacts") if isinstance(body, dict) and "contacts" in body else [body]
    if not isinstance(items, list) or not items or len(items) > contacts.MAX_ROWS:
        raise InvalidInput(f"contacts: a list of 1 to {contacts.MAX_ROWS} contacts", field="contacts")
    checked = []
    for number, item in enumerate(items):
        try:
            checked.append(contacts.checked(channel, item, _by()))
        except InvalidInput as exc:
            if len(items) == 1:
                raise
            raise InvalidInput(f"contacts[{number}].{exc.message}",
                               field=f"contacts[{number}].{exc.field or 'contact'}") from None
    saved = contacts.save(channel, checked)
    return answer(shapes.ContactsSaved, 201, items=[serialize.contact(c) for c in saved.contacts],
                  kept_opted_out=[serialize.contact(c) for _, c in saved.kept_opted_out])


@bp.post("/channels/<int:channel_id>/contacts/import")
@requires(EDITOR)
def import_contacts(channel_id):
    """A CSV file (multipart ``file``, or the body as text/csv) of contacts; every
    bad line is reported and nothing is saved while there is one (422). ``?dry_run=1`` checks only."""
    channel = contacts.whatsapp_channel(channel_id)
    upload = request.files.get("file")
    data = upload.read() if upload is not None else request.get_data()
    report = contacts.import_csv(channel, data, _by(), dry_run=request.args.get("dry_run") in ("1", "true"))
    if report["problems"]:
        return jsonify({"error": {"code": "import_refused", "field": "file",
                                  "message": f"{len(report['problems'])} line(s) cannot be imported, so none was; "
                                             f"line {report['problems'][0]['line']}: "
                                             f"{report['problems'][0]['message']}",
                                  "details": report["problems"]}}), 422
    return answer(shapes.ContactsImported, 200 if request.args.get("dry_run") in ("1", "true") else 201, **report)


@bp.post("/channels/<int:channel_id>/contacts/<int:contact_id>/opt_out")
@requires(EDITOR)
def opt_out_contact(channel_id, contact_id):
    """Record that the contact asked not to be messaged (``{"reason"}``)."""
    contacts.whatsapp_channel(channel_id)
    contact = Contact.get_or_none((Contact.id == contact_id) & (Contact.channel == channel_id))
    if contact is None:
        raise NotFound(f"contact {contact_id}: not a contact of channel {channel_id}")
    body = json_body(shapes.OptOut, required=False)
    reason = body.get("reason") or f"recorded by {_by()}"
    refuse_unstorable_text(reason, "reason")
    contacts.opt_out(channel_id, contact.id, reason)
    return answer(serialize.contact(Contact.get_by_id(contact_id)))


@bp.post("/channels/<int:channel_id>/contacts/<int:contact_id>/opt_in")
@requires(EDITOR)
def opt_in_contact(channel_id, contact_id):
    """Record a contact's new consent (``{"opt_in_method", "evidence", "opted_in_at"?}``), lifting an
    earlier opt-out: the one way besides the person's own START, on the channel's audit trail."""
    contacts.whatsapp_channel(channel_id)
    consent = contacts.checked_consent(json_body(shapes.NewConsent, values=False))
    return answer(serialize.contact(contacts.opt_in_again(channel_id, contact_id, consent, _by())))


@bp.get("/channels/<int:channel_id>/templates")
def list_templates(channel_id):
    """The channel's templates as last synced: category, status, what they take, a preview."""
    contacts.whatsapp_channel(channel_id)
    return answer(shapes.TemplateList, items=[serialize.template(t) for t in templates.listed(channel_id)])


@bp.post("/channels/<int:channel_id>/templates/sync")
@requires(ADMIN)
def sync_templates(channel_id):
    """Fetch the business account's templates from Meta now."""
    templates.sync(contacts.whatsapp_channel(channel_id), settings())
    return answer(shapes.TemplateList, items=[serialize.template(t) for t in templates.listed(channel_id)])


@bp.get("/publications/<int:publication_id>/recipients")
def publication_recipients(publication_id):
    """A WhatsApp publication's recipients: counts by status, its progress and expected end, and each one's
    message and status."""
    publication = Publication.get_or_none(Publication.id == publication_id)
    if publication is None or publication.network != "whatsapp":
        raise NotFound(f"publication {publication_id}: no WhatsApp publication with this id")
    tally = ledger.counts(publication_id)
    return answer(shapes.RecipientList, publication_id=publication_id, status=publication.status, counts=tally,
                  summary=ledger.summarise(tally), progress=serialize.progress(publication),
                  items=[serialize.recipient(r) for r in ledger.rows(publication_id)])
