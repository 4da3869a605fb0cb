"""A WhatsApp channel's page of contacts and templates: who may be messaged
(each with their opt-in), adding one, importing a CSV file (every bad line
shown, nothing saved while there is one; the lines kept opted out listed),
recording an opt-out, recording a new consent with its evidence (which lifts
an opt-out), the audiences, and the templates synced from Meta (whatsapp/
holds the rules)."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for

from ..errors import AppError
from ..models import Contact
from ..people.roles import ADMIN, EDITOR, requires
from ..whatsapp import contacts, templates
from . import forms
from .blueprint import bp


def render_page(channel_id, errors=None, values=None, problems=None, status=200, kept=None, consent=None):
    """``kept``: an import's lines kept opted out; ``consent``: the contact id whose
    new-consent form comes back with its problem (``errors``, ``values``)."""
    channel = contacts.whatsapp_channel(channel_id)
    reach = contacts.reach(channel_id)

    def words(counts):
        return {kind: contacts.reach_words(counts, kind) for kind in ("utility", "marketing")}
    return render_template("web/whatsapp_contacts.html", channel=channel,
                           contacts=contacts.listed(channel_id, request.args.get("audience") or None),
                           everyone=words(reach[None]),
                           audiences=[{"name": name, **words(reach[name])} for name, _ in contacts.audiences(channel_id)],
                           templates=templates.listed(channel_id),
                           audience=request.args.get("audience") or "", errors=errors or {},
                           values=values or {}, problems=problems or [], kept=kept or [],
                           consent=consent), status


@bp.get("/channels/<int:channel_id>/contacts")
def whatsapp_contacts(channel_id):
    return render_page(channel_id)


@bp.post("/channels/<int:channel_id>/contacts")
@requires(EDITOR)
def add_whatsapp_contact(channel_id):
    channel = contacts.whatsapp_channel(channel_id)
    form = request.form
    values = {"phone": form.get("phone", ""), "user_id": form.get("user_id", ""), "name": form.get("name", ""),
              "opt_in_method": form.get("opt_in_method", ""), "audience": form.get("audience", "")}
    data = {"phone": values["phone"], "user_id": values["user_id"].strip() or None,
            "name": values["name"] or None, "opted_in": True,
            "opt_in_method": values["opt_in_method"] or None,
            "audiences": [values["audience"].strip()] if values["audience"].strip() else []}
    try:
        saved = contacts.save(channel, [contacts.checked(channel, data, g.user.email)])
    except AppError as exc:
        return render_page(channel_id, {exc.field or forms.FORM: [forms.without_prefix(exc.message, exc.field)]},
                           values, status=422)
    [contact] = saved.contacts
    if saved.kept_opted_out:
        flash(f"{contact.shown} saved, but {contacts.kept_words(contact)}.", "error")
    else:
        flash(f"{contact.shown} added, opted in ({contact.opt_in_method}).", "success")
    return redirect(url_for("web.whatsapp_contacts", channel_id=channel_id))


@bp.post("/channels/<int:channel_id>/contacts/import")
@requires(EDITOR)
def import_whatsapp_contacts(channel_id):
    channel = contacts.whatsapp_channel(channel_id)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise AppError("file: choose a CSV file", field="file")
        report = contacts.import_csv(channel, upload.read(), g.user.email)
    except AppError as exc:
        return render_page(channel_id, {"file": [forms.without_prefix(exc.message, exc.field)]}, status=422)
    if report["problems"]:
        return render_page(channel_id, {"file": [f"{len(report['problems'])} line(s) cannot be imported, so "
                                                 f"none was: correct them and import the file again."]},
                           problems=report["problems"], status=422)
    if report["kept_opted_out"]:
        # Shown on the page itself rather than flashed: the list may be long, and each line matters.
        flash(f"{report['saved']} contact(s) imported; {len(report['kept_opted_out'])} kept opted out.", "error")
        return render_page(channel_id, kept=report["kept_opted_out"])
    flash(f"{report['saved']} contact(s) imported.", "success")
    return redirect(url_for("web.whatsapp_contacts", channel_id=channel_id))


@bp.post("/channels/<int:channel_id>/contacts/<int:contact_id>/opt_out")
@requires(EDITOR)
def opt_out_whatsapp_contact(channel_id, contact_id):
    contact = Contact.get_or_none((Contact.id == contact_id) & (Contact.channel == channel_id))
    if contact is not None:
        contacts.opt_out(channel_id, contact.id, f"recorded by {g.user.email}")
        flash(f"{contact.shown} will not be messaged again.", "success")
    return redirect(url_for("web.whatsapp_contacts", channel_id=channel_id))


@bp.post("/channels/<int:channel_id>/contacts/<int:contact_id>/opt_in")
@requires(EDITOR)
def opt_in_whatsapp_contact(channel_id, contact_id):
    """A new consent recorded with its evidence: the one way on this page to lift an opt-out."""
    contacts.whatsapp_channel(channel_id)
    values = {"opt_in_method": request.form.get("opt_in_method", ""), "evidence": request.form.get("evidence", ""),
              "opted_in_at": request.form.get("opted_in_at", "")}
    try:
        consent = contacts.checked_consent({**values, "opted_in_at": values["opted_in_at"].strip() or None})
        contact = contacts.opt_in_again(channel_id, contact_id, consent, g.user.email)
    except AppError as exc:
        field = f"consent_{exc.field}" if exc.field else forms.FORM
        return render_page(channel_id, {field: [forms.without_prefix(exc.message, exc.field)]},
                           {f"consent_{k}": v for k, v in values.items()},
                           status=exc.status if exc.status != 400 else 422, consent=contact_id)
    flash(f"{contact.shown} opted in again ({contact.opt_in_method}; evidence: {contact.opt_in_evidence}).",
          "success")
    return redirect(url_for("web.whatsapp_contacts", channel_id=channel_id))


@bp.post("/channels/<int:channel_id>/templates/sync")
@requires(ADMIN)
def sync_whatsapp_templates(channel_id):
    channel = contacts.whatsapp_channel(channel_id)
    try:
        count = templates.sync(channel, current_app.extensions["socialpub"])
    except AppError as exc:
        return render_page(channel_id, {"templates": [forms.without_prefix(exc.message, exc.field)]},
                           status=exc.status)
    flash(f"{count} template(s) synced from Meta.", "success")
    return redirect(url_for("web.whatsapp_contacts", channel_id=channel_id))
