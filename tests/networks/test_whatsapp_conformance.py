"""socialpub's WhatsApp requests, and the sandbox's WhatsApp answers and
webhooks, checked against Meta's published OpenAPI description of the
WhatsApp Business Platform (v23.0, github.com/facebook/openapi, MIT).

The description is read where it lies, never copied here: beside the
repository (``<repo>/../shared/reference/``), else in
``/work/shared/reference/``, else at the path in ``SOCIALPUB_WHATSAPP_OPENAPI``.
Without it these tests skip, saying where they looked; under ``CI=true`` they
fail instead.

What is checked, and against what
---------------------------------
Requests, as the sandbox received them from the real adapter and the real
broadcast (``GET /_sandbox/requests?all=1`` keeps what each request carried):

- ``POST /{Version}/{Phone-Number-ID}/messages`` — the JSON body against the
  operation's request schema (``Message``, which picks ``TextMessage``,
  ``ImageMessage`` or ``TemplateMessage`` by ``type``), for a text with and
  without a link preview, an image by link, an image by uploaded media id,
  and a template with an image header and body parameters
  (``TemplateObject`` → ``LanguageObject``, ``HeaderComponent`` /
  ``BodyComponent`` → ``ImageParameter`` / ``TextParameter``).
- ``POST /{Version}/{Phone-Number-ID}/media`` — the multipart fields against
  the operation's ``multipart/form-data`` schema.
- ``GET /{Version}/{WABA-ID}/message_templates`` and ``GET
  /{Version}/{Phone-Number-ID}`` — the path and query parameters against the
  operation's parameter schemas (``Version`` and ``Phone-Number-ID``
  patterns, ``fields``), plus: no query parameter the operation does not
  declare, other than Graph's own paging and field selection (``fields``,
  ``limit``, ``after``, ``before``).
- Every request: the ``bearerAuth`` security scheme (an ``Authorization:
  Bearer`` header) and the declared ``User-Agent`` parameter's pattern.
  ``Content-Type``, ``Accept`` and ``Authorization`` header parameters are
  ignored, as OpenAPI 3 says they must be.

Answers, from the same exchanges: a 200 against the operation's 200 schema
(``MessageResponsePayload``; the media upload's ``{id}``; the template list's
``data``/``paging``; ``PhoneNumberInfo``), an error against the operation's
own error response where it declares one, else ``GraphAPIError`` (what the
phone-number read declares for its 400 and 401: the messages and media
operations declare no error answer at all).

Webhooks, as the sandbox POSTs them to a collector: each body against the
``/whatsapp/webhooks`` POST operation's request schema, ``WebhookPayload``
(``Entry`` → ``Change``, whose ``value`` must match exactly one of
``IncomingMessageValueGeneral``, ``IncomingMessageValueSystem``,
``StatusMessageValue``, ``GroupValue``). The description has no top-level
``webhooks:``; the webhook is this pseudo-path. Statuses (sent, delivered,
read, failed with ``errors``) go through ``Statuses``; inbound texts (STOP
among them) through ``ContactProfile`` and ``IncomingMessage``.

OpenAPI 3 specifics: the document says 3.1 (JSON Schema 2020-12, validated
with openapi-schema-validator's ``OAS31Validator``); a ``discriminator``
selects the one schema its mapping names — on a ``oneOf`` instead of trying
every branch, on a base schema (``TemplateComponent``, ``ParameterObject``)
by also applying the mapped subtype, which is how the template components'
parameters get checked at all —, and the one 3.0 ``nullable: true`` the merged
document still carries is honoured.

Where the description contradicts itself or Meta's examples (each is
checked to be still there by ``test_each_correction_is_still_needed``;
the examples win):

1. Every message schema is ``allOf: [BaseMessageProperties, {…,
   additionalProperties: false}]``. Taken literally no message validates —
   ``additionalProperties`` in one ``allOf`` member does not see
   ``messaging_product``, ``to``… declared by the other, though
   ``BaseMessageProperties`` makes them required and every example carries
   them. Read as meant: ``unevaluatedProperties: false`` on the whole.
2. ``BaseMessageProperties`` lacks ``biz_opaque_callback_data``, which Meta's
   messages reference documents (and the status webhook echoes); the
   document defines it only for calls. Its calls definition is lent to
   messages.
3. ``LanguageObject`` requires ``policy``, while the template examples send
   ``language: {code: …}`` alone.
4. ``BaseMessageProperties`` requires ``recipient_type``, which several
   examples (a template send, a contact card) leave out.
5. The document merges several sources and their schema names collide: the
   webhook's ``IncomingMessage`` maps ``text``, ``image``… to the *send*
   schemas (``TextMessage`` requiring ``to`` and ``recipient_type``), which
   no inbound message has, while every webhook example carries ``from``,
   ``id`` and ``timestamp``. Inbound messages are checked against copies of
   those schemas whose base is what the examples carry instead.

And one change newer than v23 (Meta's "business-scoped user IDs" page, 2026),
which the sandbox's webhooks follow:

6. A person is also named by a business-scoped user id: ``from_user_id`` on
   an inbound message, ``recipient_user_id`` on a status,
   ``contacts[].user_id`` and ``profile.username``; for someone who hides
   their number behind a username, ``from`` / ``recipient_id`` (and
   ``wa_id``) are left out. So an inbound message needs ``from`` *or*
   ``from_user_id``, a status ``recipient_id`` *or* ``recipient_user_id``;
   the rest was already allowed (those objects are open).
"""
from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from urllib.parse import quote

import jsonschema
import pytest
import requests
import yaml
from flask import Flask, request
from openapi_schema_validator import OAS31Validator
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from socialpub.networks import Content, PublishError, Target, get_adapter
from socialpub.networks.base import Photo
from socialpub.sandbox.server import serve_in_thread

from tests.support.whatsapp_fixtures import WHATSAPP_SETTINGS, add_contacts, numbers

SPEC_NAME = "whatsapp-business-messaging-api_v23.0.yaml"
SPEC_ENV = "SOCIALPUB_WHATSAPP_OPENAPI"
REPO = Path(__file__).resolve().parents[2]
URI = "urn:meta:whatsapp-business-messaging-api"

PHONE_ID, WABA_ID = "106540352242922", "102290129340398"
#: The operations socialpub calls: (method, what the path ends with) → the description's path.
OPERATIONS = {("POST", "/messages"): "/{Version}/{Phone-Number-ID}/messages",
              ("POST", "/media"): "/{Version}/{Phone-Number-ID}/media",
              ("GET", "/message_templates"): "/{Version}/{WABA-ID}/message_templates",
              ("GET", ""): "/{Version}/{Phone-Number-ID}"}
#: Graph's own query parameters, valid on every read though no operation declares them.
GRAPH_QUERY = {"fields", "limit", "after", "before"}
#: OpenAPI 3: header parameters of these names "SHALL be ignored".
IGNORED_HEADERS = {"accept", "content-type", "authorization"}

pytestmark = pytest.mark.settings(**WHATSAPP_SETTINGS)


# -- the description -----------------------------------------------------------------------------

def spec_candidates() -> list:
    found = [REPO.parent / "shared" / "reference" / SPEC_NAME, Path("/work/shared/reference") / SPEC_NAME]
    if os.environ.get(SPEC_ENV):
        found.append(Path(os.environ[SPEC_ENV]))
    return found


@pytest.fixture(scope="module")
def spec():
    """Meta's description, parsed once for the module (C LibYAML when there: ~0.5 s instead of ~15)."""
    candidates = spec_candidates()
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        reason = (f"Meta's WhatsApp OpenAPI description {SPEC_NAME} was not found; looked at "
                  + ", ".join(map(str, candidates)) + f" (set {SPEC_ENV} to its path)")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as file:
        return Spec(yaml.load(file, Loader=loader))


def pointer(*segments) -> str:
    """A JSON pointer to ``segments`` (``/`` and ``~`` escaped)."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in segments)


def _validator_class():
    """OAS31Validator, with OpenAPI's discriminator applied and 3.0's ``nullable`` honoured."""
    base = OAS31Validator.VALIDATORS
    active = set()  # (discriminator schema, instance) pairs being applied: the subtype's allOf names the base again

    def chosen(validator, discriminator, instance):
        """The errors of ``instance`` against the schema its discriminating property names."""
        name = discriminator["propertyName"]
        value = instance.get(name)
        if not isinstance(value, str):
            return [jsonschema.ValidationError(f"no discriminating property {name!r}")]
        ref = (discriminator.get("mapping") or {}).get(value) or f"#/components/schemas/{value}"
        try:
            return list(validator.descend(instance, {"$ref": ref}))
        except Unresolvable:
            return [jsonschema.ValidationError(f"{name} {value!r} names no schema")]

    def one_of(validator, schemas, instance, schema):
        if "discriminator" in schema and isinstance(instance, dict):
            yield from chosen(validator, schema["discriminator"], instance)
        else:
            yield from base["oneOf"](validator, schemas, instance, schema)

    def any_of(validator, schemas, instance, schema):
        if "discriminator" in schema and isinstance(instance, dict):
            yield from chosen(validator, schema["discriminator"], instance)
        else:
            yield from base["anyOf"](validator, schemas, instance, schema)

    def discriminator(validator, value, instance, schema):
        # On a oneOf/anyOf it chose above; on a base schema, the mapped subtype applies too.
        if "oneOf" in schema or "anyOf" in schema or not isinstance(instance, dict):
            return
        key = (id(schema), id(instance))
        if key in active:
            return
        active.add(key)
        try:
            errors = chosen(validator, value, instance)
        finally:
            active.discard(key)
        yield from errors

    def type_(validator, types, instance, schema):
        if instance is None and schema.get("nullable") is True:
            return
        yield from base["type"](validator, types, instance, schema)

    return jsonschema.validators.extend(OAS31Validator, {"oneOf": one_of, "anyOf": any_of,
                                                         "discriminator": discriminator, "type": type_})


Validator = _validator_class()


class Spec:
    """The description as published (``raw``) and as corrected (``fixed``, see the module's docstring)."""

    def __init__(self, document: dict):
        self.raw = document
        self.fixed = corrected(document)
        self._registries = {}

    def errors(self, instance, at: str, fixed: bool = True) -> list:
        """Why ``instance`` does not match the schema at JSON pointer ``at`` (none: it does)."""
        document = self.fixed if fixed else self.raw
        registry = self._registries.get(fixed)
        if registry is None:
            registry = self._registries[fixed] = Registry().with_resource(URI, DRAFT202012.create_resource(document))
        validator = Validator({"$ref": f"{URI}#{quote(at, safe='/~')}"}, registry=registry,
                              format_checker=Validator.FORMAT_CHECKER)
        return [explain(e) for e in sorted(validator.iter_errors(instance),
                                           key=lambda e: list(map(str, e.absolute_path)))]

    def at(self, at: str, fixed: bool = True):
        node = self.fixed if fixed else self.raw
        for segment in at.split("/")[1:]:
            node = node[segment.replace("~1", "/").replace("~0", "~")]
        return node


def explain(error, depth=0) -> str:
    """One line per error: where, what; a oneOf's or anyOf's failure with each branch's reasons."""
    where = "/".join(map(str, error.absolute_path)) or "(root)"
    message = error.message if not error.context else f"matches none of the {error.validator} branches"
    line = f"{'  ' * depth}{where}: {message[:200]}"
    for sub in error.context or ():
        line += "\n" + explain(sub, depth + 1) if depth < 3 else ""
    return line


def report(problems: dict) -> str:
    return "\n".join(f"{what}:\n  " + "\n  ".join(why) for what, why in problems.items() if why)


def corrected(document: dict) -> dict:
    """The description with the corrections of the module's docstring."""
    fixed = copy.deepcopy(document)
    schemas = fixed["components"]["schemas"]

    # 1. additionalProperties: false inside an allOf member means: nothing beyond what the allOf declares.
    def walk(node):
        if isinstance(node, dict):
            for member in node.get("allOf") or ():
                if isinstance(member, dict) and "$ref" not in member and member.get("additionalProperties") is False:
                    del member["additionalProperties"]
                    node["unevaluatedProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(fixed)

    # 2. biz_opaque_callback_data, as the calls request defines it, on every message.
    callback = schemas["CallRequestPayload"]["properties"]["biz_opaque_callback_data"]
    schemas["BaseMessageProperties"]["properties"]["biz_opaque_callback_data"] = copy.deepcopy(callback)

    # 3. A template's language is {code}; policy may be left out.
    schemas["LanguageObject"]["required"] = [r for r in schemas["LanguageObject"]["required"] if r != "policy"]

    # 4. recipient_type may be left out (it defaults to individual).
    base = schemas["BaseMessageProperties"]
    base["required"] = [r for r in base["required"] if r != "recipient_type"]

    # 5. Inbound messages on a base of what the webhook examples carry, not the send schemas' base;
    # 6. with a business-scoped user id beside the number, or instead of it.
    schemas["socialpub.InboundMessageProperties"] = {
        "type": "object", "required": ["id", "timestamp", "type"],
        "anyOf": [{"required": ["from"]}, {"required": ["from_user_id"]}],
        "properties": {"from": {"type": "string"}, "from_user_id": {"type": "string"}, "id": {"type": "string"},
                       "timestamp": {"type": "string"}, "type": {"type": "string"}, "context": {"type": "object"},
                       "referral": {"type": "object"}}}
    statuses = schemas["Statuses"]
    statuses["required"] = [r for r in statuses["required"] if r != "recipient_id"]
    statuses["anyOf"] = [{"required": ["recipient_id"]}, {"required": ["recipient_user_id"]}]
    statuses["properties"]["recipient_user_id"] = {"type": "string"}
    base_ref = "#/components/schemas/BaseMessageProperties"

    def inbound(ref: str) -> str:
        name = ref.rsplit("/", 1)[1]
        copied = f"socialpub.Inbound{name}"
        if copied not in schemas:
            schema = copy.deepcopy(schemas[name])
            schema["allOf"] = [{"$ref": "#/components/schemas/socialpub.InboundMessageProperties"}
                               if m == {"$ref": base_ref} else m for m in schema["allOf"]]
            schemas[copied] = schema
        return f"#/components/schemas/{copied}"

    incoming = schemas["IncomingMessage"]
    incoming["discriminator"]["mapping"] = {k: inbound(v) for k, v in incoming["discriminator"]["mapping"].items()}
    incoming["oneOf"] = [{"$ref": inbound(m["$ref"])} for m in incoming["oneOf"]]
    system = schemas["IncomingMessageValueSystem"]["properties"]["messages"]["items"]
    system["$ref"] = inbound(system["$ref"])
    return fixed


# -- requests and answers ------------------------------------------------------------------------------

def operation_of(entry: dict) -> str | None:
    """The description's path of a request socialpub sent to WhatsApp, or None for another network's."""
    match = re.fullmatch(r"/v\d+\.\d+/\w+(/\w+)?", entry["path"])
    return OPERATIONS.get((entry["method"], match.group(1) or "")) if match else None


def path_parameters(template: str, path: str) -> dict:
    names = re.findall(r"\{([^}]+)\}", template)
    pattern = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template))
    match = re.fullmatch(pattern, path)
    assert match, f"{path} is not {template}"
    return dict(zip(names, match.groups()))


def request_errors(spec: Spec, entry: dict) -> list:
    """Why a recorded request does not conform to its operation (none: it does)."""
    template = operation_of(entry)
    method = entry["method"].lower()
    item_at = pointer("paths", template)
    op_at = pointer("paths", template, method)
    operation = spec.at(op_at)
    found = {"path": path_parameters(template, entry["path"]), "query": dict(entry["query"]),
             "header": {k.lower(): v for k, v in entry["headers"].items()}}
    problems, declared = [], {}
    for owner in (item_at, op_at):  # the operation's own parameters override the path's
        for i, parameter in enumerate(spec.at(owner).get("parameters") or ()):
            at = pointer(*[s.replace("~1", "/").replace("~0", "~") for s in owner.split("/")[1:]], "parameters", i)
            if "$ref" in parameter:
                at, parameter = parameter["$ref"][1:], spec.at(parameter["$ref"][1:])
            name = parameter["name"].lower() if parameter["in"] == "header" else parameter["name"]
            declared[(parameter["in"], name)] = (at, parameter)
    for (where, name), (at, parameter) in declared.items():
        if where == "header" and name in IGNORED_HEADERS:
            continue
        value = found[where].get(name)
        if value is None:
            if parameter.get("required"):
                problems.append(f"{where} parameter {name} is required")
            continue
        problems += [f"{where} parameter {name}: {e}" for e in spec.errors(value, at + "/schema")]
    undeclared = set(found["query"]) - {n for (w, n) in declared if w == "query"} - GRAPH_QUERY
    problems += [f"query parameter {n} is not the operation's, nor Graph's" for n in sorted(undeclared)]
    security = operation.get("security", spec.fixed.get("security")) or ()
    if any("bearerAuth" in s for s in security) and \
            not found["header"].get("authorization", "").startswith("Bearer "):
        problems.append("no Authorization: Bearer header (bearerAuth)")
    body = operation.get("requestBody")
    if body:
        media_type = found["header"].get("content-type", "").split(";")[0].strip()
        if media_type not in body["content"]:
            problems.append(f"a {media_type or 'missing'} body; the operation takes {sorted(body['content'])}")
        else:
            instance = entry["json"] if media_type == "application/json" else \
                {**entry["form"], **{name: "(bytes)" for name in entry["files"]}}
            problems += spec.errors(instance, pointer("paths", template, method, "requestBody", "content",
                                                      media_type, "schema"))
    elif entry["json"] or entry["form"]:
        problems.append("a body, where the operation takes none")
    return problems


def answer_errors(spec: Spec, entry: dict) -> list:
    """Why the sandbox's JSON answer to a request does not conform to the operation's answer."""
    template = operation_of(entry)
    responses = spec.at(pointer("paths", template, entry["method"].lower(), "responses"))
    status = str(entry["status"])
    declared = responses.get(status) or responses.get("default")
    if declared and "application/json" in (declared.get("content") or {}):
        at = pointer("paths", template, entry["method"].lower(), "responses",
                     status if status in responses else "default", "content", "application/json", "schema")
    elif entry["status"] >= 400:
        at = pointer("components", "schemas", "GraphAPIError")
    else:
        return [f"the operation declares no {status} answer"]
    return spec.errors(entry["answer"], at)


def whatsapp_exchanges(sandbox_client) -> list:
    return [e for e in sandbox_client.requests(everything=True) if operation_of(e)]


def describe(entry: dict) -> str:
    kind = (entry["json"] or {}).get("type") or ""
    return f"{entry['method']} {entry['path']} {kind} → {entry['status']}"


def assert_conform(spec, exchanges):
    problems = {describe(e): request_errors(spec, e) + [f"answer: {p}" for p in answer_errors(spec, e)]
                for e in exchanges}
    assert not report(problems), report(problems)


def message_kinds(exchanges) -> set:
    """``text``, ``image:link``, ``image:id``, ``template`` (+ ``:header-image:id``, ``:body-text``) sent."""
    kinds = set()
    for entry in exchanges:
        body = entry["json"] or {}
        if body.get("type") == "image":
            kinds.add("image:" + ("id" if "id" in body["image"] else "link"))
        elif body.get("type") == "template":
            for component in body["template"].get("components") or ():
                for parameter in component.get("parameters") or ():
                    detail = parameter.get(parameter["type"])
                    kinds.add(f"template:{component['type']}-{parameter['type']}"
                              + (":id" if isinstance(detail, dict) and "id" in detail else ""))
        elif body.get("type"):
            kinds.add(body["type"] + (":preview" if body.get("text", {}).get("preview_url") else ""))
    return kinds


def whatsapp_target(sandbox, token="token-1") -> Target:
    return Target("whatsapp", PHONE_ID, token, f"{sandbox.url}/v24.0", recipients=("+16505551234",))


def photo(sandbox) -> Photo:
    data = requests.get(f"{sandbox.url}/_sandbox/image.jpg?width=64&height=48", timeout=5).content
    return Photo("image/jpeg", 64, 48, data)


def test_the_adapters_free_form_sends_uploads_and_reads_conform(spec, sandbox, sandbox_client):
    adapter, target = get_adapter("whatsapp"), whatsapp_target(sandbox)
    adapter.publish(target, Content("Table for two?"))
    adapter.publish(target, Content("Our new menu", link="https://example.com/menu"))
    adapter.publish(target, Content("Today's special", image_url=f"{sandbox.url}/_sandbox/image.jpg"))
    adapter.publish(target, Content("Fresh from the oven", photos=(photo(sandbox),)))
    adapter.identify(target)
    many = [{"id": str(2000 + i), "name": f"t{i}", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
             "components": [{"type": "BODY", "text": "Hello"}]} for i in range(101)]
    requests.post(f"{sandbox.url}/_sandbox/whatsapp/templates", json={"templates": many},
                  timeout=5).raise_for_status()
    assert len(adapter.list_templates(target, WABA_ID)) == 101  # two pages: ?after= on the second

    exchanges = whatsapp_exchanges(sandbox_client)
    assert message_kinds(exchanges) == {"text", "text:preview", "image:link", "image:id"}
    assert [e["query"].get("after") for e in exchanges if e["path"].endswith("/message_templates")] == [None, "100"]
    assert {operation_of(e) for e in exchanges} == set(OPERATIONS.values())
    assert_conform(spec, exchanges)


def inbound(sandbox, phone, text="Hi"):
    answer = requests.post(f"{sandbox.url}/_sandbox/whatsapp/inbound", json={"from": phone, "text": text},
                           timeout=30).json()
    assert answer["answer"] == 200, answer


def test_a_broadcast_with_a_template_and_a_free_form_reply_conforms(
        spec, client, whatsapp, sandbox, sandbox_client, drain, settle):
    """The template (image header by media id, a body parameter) to a contact whose
    window is closed, a free-form image to one who just wrote; the sync's read too."""
    closed, open_ = numbers(2, start=700)
    add_contacts(client, whatsapp, [closed, open_])
    inbound(sandbox, open_)
    settle()
    response = client.post("/api/posts", json={
        "text": "Spring menu\nis here", "channels": [whatsapp], "publish": True,
        "image_url": f"{sandbox.url}/_sandbox/image.jpg",
        "whatsapp": {"template": "post_announcement", "language": "en_US", "body": ["{text}"],
                     "audience": "Everyone"}})
    assert response.status_code == 201, response.get_json()
    drain()
    exchanges = whatsapp_exchanges(sandbox_client)
    sends = [e for e in exchanges if e["path"].endswith("/messages")]
    assert sorted(e["json"]["to"] for e in sends) == sorted([closed, open_])
    assert all(e["json"].get("biz_opaque_callback_data") for e in sends)
    assert message_kinds(exchanges) >= {"template:header-image:id", "template:body-text"}
    assert {operation_of(e) for e in exchanges} >= {OPERATIONS[("GET", "/message_templates")],
                                                    OPERATIONS[("POST", "/media")]}
    assert_conform(spec, exchanges)


def test_the_sandboxs_error_answers_conform(spec, sandbox, sandbox_client):
    adapter, target = get_adapter("whatsapp"), whatsapp_target(sandbox)
    refused = {"+33612340001": 131056, "+33612340002": 130429, "+33612340003": 131026,
               "+33612340004": 131021, "+33612340005": 131064}
    sandbox_client.configure(whatsapp={"refuse": refused})
    attempts = [lambda: adapter.publish(whatsapp_target(sandbox, token="invalid-token"), Content("x")),
                lambda: adapter.publish(whatsapp_target(sandbox, token="expired-1"), Content("x")),
                lambda: adapter.send(target, {"to": "nobody", "type": "text", "text": {"body": "x"}}),
                lambda: adapter.send(target, {"to": "+16505551234", "type": "text", "text": {"body": ""}}),
                lambda: adapter.send(target, {"to": "+16505551234", "type": "template", "template": {
                    "name": "no_such_template", "language": {"code": "en_US"}}}),
                lambda: adapter.send(target, {"to": "+16505551234", "type": "template", "template": {
                    "name": "weekly_digest", "language": {"code": "en_US"}}}),
                lambda: adapter.send(target, {"to": "+16505551234", "type": "template", "template": {
                    "name": "post_announcement", "language": {"code": "en_US"}, "components": [
                        {"type": "body", "parameters": [{"type": "text", "text": "x"}]}]}}),
                lambda: adapter.send(target, {"to": "+16505551234", "type": "image", "image": {"id": "404"}}),
                lambda: adapter.upload_media(target, Photo("image/gif", 1, 1, b"GIF89a")),
                lambda: adapter.identify(whatsapp_target(sandbox, token="invalid-token")),
                lambda: adapter.list_templates(whatsapp_target(sandbox, token="invalid-token"), WABA_ID)]
    attempts += [lambda number=number: adapter.send(target, {"to": number, "type": "text", "text": {"body": "x"}})
                 for number in refused]
    for attempt in attempts:
        with pytest.raises(PublishError):
            attempt()
    exchanges = whatsapp_exchanges(sandbox_client)
    assert len(exchanges) == len(attempts) and all(e["status"] >= 400 for e in exchanges)
    problems = {describe(e): answer_errors(spec, e) for e in exchanges}
    assert not report(problems), report(problems)


# -- webhooks ---------------------------------------------------------------------------------------------

WEBHOOK_AT = pointer("paths", "/whatsapp/webhooks", "post", "requestBody", "content", "application/json", "schema")


@pytest.fixture
def collector():
    """A loopback receiver for the sandbox's webhooks; yields the bodies it got."""
    app, bodies = Flask("webhook-collector"), []

    @app.post("/hook")
    def hook():
        bodies.append(request.get_json(force=True))
        return "", 200

    handle = serve_in_thread(app)
    yield handle.url + "/hook", bodies
    handle.stop()


def test_the_sandboxs_webhooks_conform(spec, sandbox, sandbox_client, collector):
    url, bodies = collector
    sandbox_client.configure(whatsapp={"webhook_url": url, "app_secret": "s", "windows": "inbound",
                                       "statuses": "manual"})
    adapter, target = get_adapter("whatsapp"), whatsapp_target(sandbox)
    replying, silent, stopped, opted_out, undeliverable, hidden = numbers(6, start=800)
    inbound(sandbox, replying, "Is it open on Sunday?")
    inbound(sandbox, stopped, "STOP")
    # Someone who hides their number behind a username (the sandbox's usernames may not be there yet).
    took = requests.post(f"{sandbox.url}/_sandbox/whatsapp/usernames", json={"numbers": [hidden]}, timeout=5)
    if took.status_code != 404:
        took.raise_for_status()
        inbound(sandbox, hidden, "STOP")
    requests.post(f"{sandbox.url}/_sandbox/whatsapp/opt_out", json={"numbers": [opted_out]},
                  timeout=5).raise_for_status()
    sandbox_client.configure(whatsapp={"undeliverable": [undeliverable]})
    template = {"name": "weekly_digest", "language": {"code": "en_US"}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "news"}, {"type": "text", "text": "x"}]}]}
    for number, message in ((replying, {"type": "text", "text": {"body": "Yes, 9 to 5"}}),
                            (silent, {"type": "text", "text": {"body": "Hello"}}),
                            (opted_out, {"type": "template", "template": template}),
                            (undeliverable, {"type": "template", "template": template})):
        adapter.send(target, {"to": number, "biz_opaque_callback_data": f"socialpub:{number}", **message})
    flushed = requests.post(f"{sandbox.url}/_sandbox/whatsapp/flush", json={}, timeout=30).json()
    assert flushed["answers"] == ["200"]

    values = [c["value"] for b in bodies for e in b["entry"] for c in e["changes"]]
    statuses = [s for v in values for s in v.get("statuses") or ()]
    texts = [m["text"]["body"] for v in values for m in v.get("messages") or () if m["type"] == "text"]
    assert {s["status"] for s in statuses} == {"sent", "delivered", "read", "failed"}
    assert {e["code"] for s in statuses for e in s.get("errors") or ()} == {131047, 131050, 131026}
    assert {"Is it open on Sunday?", "STOP"} <= set(texts)
    if took.status_code != 404:
        assert [m for v in values for m in v.get("messages") or () if "from" not in m], "no username-only sender"
    problems = {f"{i}: {sorted(b['entry'][0]['changes'][0]['value'])}": spec.errors(b, WEBHOOK_AT)
                for i, b in enumerate(bodies)}
    assert not report(problems), report(problems)


# -- the corrections -------------------------------------------------------------------------------------

SEND_AT = pointer("paths", "/{Version}/{Phone-Number-ID}/messages", "post", "requestBody", "content",
                  "application/json", "schema")


def examples(spec, at: str) -> dict:
    return {name: example["value"] for name, example in (spec.at(at, fixed=False).get("examples") or {}).items()}


def test_each_correction_is_still_needed(spec):
    """Meta's own examples, refused by the description as published and taken once corrected:
    when one of them passes as published, its correction can go."""
    sends = examples(spec, pointer("paths", "/{Version}/{Phone-Number-ID}/messages", "post", "requestBody",
                                   "content", "application/json"))
    text, by_id, by_link = sends["Send Text Message"], sends["Send Image Message by ID"], \
        sends["Send Image Message by URL"]
    templates = {n: v for n, v in sends.items() if v.get("type") == "template"
                 and "policy" not in v["template"]["language"]
                 and all(c["type"] in ("header", "body") for c in v["template"].get("components") or ())}
    webhooks = examples(spec, pointer("paths", "/whatsapp/webhooks", "post", "requestBody", "content",
                                      "application/json"))
    text_webhooks = {n: v for n, v in webhooks.items()
                     if {m.get("type") for c in v["entry"][0]["changes"]
                         for m in c["value"].get("messages") or ()} == {"text"}}
    assert templates and text_webhooks
    ours = {n: v for n, v in sends.items() if v.get("type") in ("text", "image")
            or n in templates}  # what socialpub sends
    cases = {"1: additionalProperties in allOf": [text, by_id, by_link],
             "2: biz_opaque_callback_data": [dict(text, biz_opaque_callback_data="socialpub:1")],
             "3: language policy": list(templates.values()),
             "4: recipient_type": [v for v in ours.values() if "recipient_type" not in v],
             "5: inbound messages": list(text_webhooks.values())}
    assert all(cases.values())
    for case, instances in cases.items():
        at = WEBHOOK_AT if case.startswith("5") else SEND_AT
        assert all(spec.errors(i, at, fixed=False) for i in instances), f"correction {case} is no longer needed"
        assert [spec.errors(i, at) for i in instances] == [[]] * len(instances), case
    # 2 on its own: a message's properties still lack it as published.
    published = spec.raw["components"]["schemas"]
    assert "biz_opaque_callback_data" not in published["BaseMessageProperties"]["properties"]
    assert "biz_opaque_callback_data" not in str(published["TextMessage"])


def test_the_discriminator_checks_the_template_parameters(spec):
    """Without the discriminator, a template's ``components`` would go unchecked."""
    bad = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
           "type": "template", "template": {"name": "t", "language": {"code": "en_US"}, "components": [
               {"type": "body", "parameters": [{"type": "text", "txt": "typo"}]},
               {"type": "header", "parameters": [{"type": "image", "image": {"caption": "no id, no link"}}]}]}}
    found = "\n".join(spec.errors(bad, SEND_AT))
    assert "'text' is a required property" in found and "image" in found
