"""What the sandbox's Meta knows of WhatsApp: its business account's
templates, each person's last message (their 24-hour window), opt-outs,
each person's business-scoped user id (BSUID) and who hides their number
behind a username, and the status notifications not yet sent
(wa_business.py serves them)."""
from __future__ import annotations

import copy
import hashlib
import threading
import time

import phonenumbers

WINDOW_S = 24 * 3600


def default_templates() -> list:
    """The sandbox business account's templates: approved, pending and rejected ones."""
    footer = {"type": "FOOTER", "text": "Reply STOP to stop these messages"}
    return [
        {"id": "1000000000000001", "name": "post_announcement", "language": "en_US", "status": "APPROVED",
         "category": "UTILITY", "parameter_format": "POSITIONAL",
         "components": [{"type": "HEADER", "format": "IMAGE",
                         "example": {"header_handle": ["https://scontent.whatsapp.net/example.jpg"]}},
                        {"type": "BODY", "text": "New from us: {{1}}", "example": {"body_text": [["Our spring menu"]]}},
                        footer]},
        {"id": "1000000000000006", "name": "video_announcement", "language": "en_US", "status": "APPROVED",
         "category": "UTILITY", "parameter_format": "POSITIONAL",
         "components": [{"type": "HEADER", "format": "VIDEO",
                         "example": {"header_handle": ["https://scontent.whatsapp.net/example.mp4"]}},
                        {"type": "BODY", "text": "Watch: {{1}}", "example": {"body_text": [["our spring menu"]]}},
                        footer]},
        {"id": "1000000000000002", "name": "weekly_digest", "language": "en_US", "status": "APPROVED",
         "category": "MARKETING", "parameter_format": "POSITIONAL",
         "components": [{"type": "BODY", "text": "This week: {{1}}. Read more at {{2}}",
                         "example": {"body_text": [["three new recipes", "https://example.com"]]}}, footer]},
        {"id": "1000000000000003", "name": "news_update", "language": "es_ES", "status": "APPROVED",
         "category": "UTILITY", "parameter_format": "POSITIONAL",
         "components": [{"type": "BODY", "text": "Novedades: {{1}}", "example": {"body_text": [["horario"]]}}]},
        {"id": "1000000000000004", "name": "spring_sale", "language": "en_US", "status": "PENDING",
         "category": "MARKETING", "parameter_format": "POSITIONAL",
         "components": [{"type": "BODY", "text": "Spring sale: {{1}}", "example": {"body_text": [["20% off"]]}}]},
        {"id": "1000000000000005", "name": "flash_offer", "language": "en_US", "status": "REJECTED",
         "category": "MARKETING", "parameter_format": "POSITIONAL",
         "components": [{"type": "BODY", "text": "Only today!"}]},
    ]


class WhatsAppWorld:
    """What Meta knows: templates, windows (number → last inbound time),
    opt-outs, usernames (number → username: webhooks withhold that number),
    the statuses not yet sent (``statuses: "manual"``)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.templates = default_templates()
        self.windows = {}
        self.opted_out = set()
        self.pending = []
        self.usernames = {}
        self._numbers = {}  # BSUID → number, for sends that name the BSUID

    def user_id(self, number: str) -> str:
        """The person's BSUID for this business (a number's digits): stable, in
        Meta's shape — the country of the number, a dot, digits."""
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse("+" + number)) or "ZZ"
        except phonenumbers.NumberParseException:
            region = "ZZ"
        digest = hashlib.sha256(f"sandbox-business:{number}".encode()).digest()
        user_id = f"{region}.{int.from_bytes(digest[:8], 'big')}"
        with self.lock:
            self._numbers[user_id] = number
        return user_id

    def number_for(self, user_id: str) -> str | None:
        """Whose BSUID this is (None: nobody this business has met)."""
        with self.lock:
            return self._numbers.get(user_id)

    def hidden(self, number: str) -> str | None:
        """The username behind which this number is withheld, if any."""
        with self.lock:
            return self.usernames.get(number)

    def template(self, name, language):
        with self.lock:
            return next((copy.deepcopy(t) for t in self.templates
                         if t["name"] == name and t["language"] == language), None)

    def window_open(self, number: str) -> bool:
        with self.lock:
            return self.windows.get(number, 0) > time.time() - WINDOW_S
