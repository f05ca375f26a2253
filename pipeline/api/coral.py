"""Coral external moderation phase: ``POST /v1/coral/moderate``.

Coral (coralproject/talk 9.x) POSTs each new or edited comment, signed with
``X-Coral-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`` (several comma-joined values
while a secret rotates; any one matching is enough), and waits at most the phase's timeout
(200 ms by default). Coral sends no API key: the signature is the authentication, so without
``HEMICYCLE_CORAL_SECRET`` the endpoint answers 503.

The comment is judged synchronously, in-process: HTML stripped, spam signals
(:mod:`pipeline.models.spam`), fastText language identification, and toxicity when
``HEMICYCLE_TOXICITY_CHECKPOINT`` is configured (the model is loaded once per app, on the first
request, under a lock; scoring is serialised). The moderation policy then decides, and the
decision maps onto Coral's answer:

* ``auto_hide`` → ``status: PREMOD`` (held until a moderator approves it: Hemicycle's
  "hidden until a human confirms"), with a ``FLAG`` action per triggering category
  (``COMMENT_DETECTED_TOXIC`` / ``COMMENT_DETECTED_SPAM``). Only when a link goes to a domain
  on the policy's block list (an explicit operator decision) → ``status: REJECTED`` with a
  ``moderationAction`` (``rejectionReason.code: SPAM``, the policy reasons as
  ``detailedExplanation``). ``moderationAction`` is never sent with PREMOD: Coral records it
  as a rejection and notifies the author that the comment was rejected.
* ``needs_review`` because a review threshold was reached → ``FLAG`` actions and no status,
  so Coral's pipeline goes on and the comment reaches its reported queue.
* ``auto_approve``, or review only because nothing could be scored → ``{}``: Coral skips the
  phase (conservative: Hemicycle never approves on Coral's behalf, other phases still run).
* comments of Coral ADMIN and MODERATOR users, and comments with no text → ``{}``.

After the answer is sent, the comment is published as a ``ContributionSubmitted`` of platform
``coral-<tenantID>`` (Coral sends no comment id: the id is a hash of story, author, parent and
text), so it is translated and kept with the rest; a failure there is logged, never answered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from pipeline.api.context import AppContext
from pipeline.api.html import html_to_text
from pipeline.api.models import (
    ApiError,
    ApiRoute,
    check_content_type,
    error_responses,
    inline_schema,
    json_body,
    parse_request,
    read_body,
)
from pipeline.bus.base import BusError
from pipeline.config import Settings
from pipeline.extras import MissingExtra, require
from pipeline.logs import get_logger
from pipeline.models.spam import SpamDetector, combine
from pipeline.policy import Policy, PolicyDecision, PolicyError, PolicyInputs, decide, load_policy
from pipeline.schemas import Contribution, SpamSignal
from pipeline.schemas.codec import describe_validation_error
from pipeline.schemas.ids import submission_event
from pipeline.schemas.keys import check_platform_name
from pipeline.store.base import StoreError

log = get_logger("coral")
# Coral generates long random secrets; anything shorter is a mistake or a placeholder.
MIN_SECRET_CHARS = 16

NO_MODEL = "toxicity model not configured (HEMICYCLE_TOXICITY_CHECKPOINT)"
TRUSTED_ROLES = frozenset({"ADMIN", "MODERATOR"})
TOXIC = "COMMENT_DETECTED_TOXIC"
SPAM = "COMMENT_DETECTED_SPAM"

CommentStatus = Literal["NONE", "APPROVED", "REJECTED", "PREMOD", "SYSTEM_WITHHELD"]
RejectionCode = Literal[
    "OFFENSIVE",
    "ABUSIVE",
    "SPAM",
    "BANNED_WORD",
    "AD",
    "ILLEGAL_CONTENT",
    "HARASSMENT_BULLYING",
    "MISINFORMATION",
    "HATE_SPEECH",
    "IRRELEVANT_CONTENT",
    "OTHER",
]


# --- Coral's request and response ------------------------------------------------------------


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CoralComment(_Lenient):
    body: str = Field(max_length=1_000_000)
    parentID: str | None = Field(None, max_length=200)


class CoralAuthor(_Lenient):
    id: str = Field(min_length=1, max_length=200)
    role: str | None = Field(None, max_length=50)


class CoralStory(_Lenient):
    id: str = Field(min_length=1, max_length=200)
    url: str | None = Field(None, max_length=2_000)


class CoralSite(_Lenient):
    id: str = Field(min_length=1, max_length=200)


class CoralRequest(_Lenient):
    """What Coral sends. Unknown fields are ignored (Coral may add some)."""

    action: Literal["NEW", "EDIT"]
    comment: CoralComment
    author: CoralAuthor
    story: CoralStory
    site: CoralSite | None = None
    tenantID: str = Field(min_length=1, max_length=150)
    tenantDomain: str | None = Field(None, max_length=500)

    @field_validator("tenantID")
    @classmethod
    def _tenant_names_a_platform(cls, value: str) -> str:
        """Comments become contributions of platform ``coral-<tenantID>``: a valid name."""
        return check_platform_name(value)

    @model_validator(mode="before")
    @classmethod
    def _older_tenant_shape(cls, data: Any) -> Any:
        """Coral before 7 sent ``tenant: {id, domain}`` instead of tenantID/tenantDomain."""
        if isinstance(data, dict) and "tenantID" not in data:
            tenant = data.get("tenant")
            if isinstance(tenant, dict):
                data = {**data, "tenantID": tenant.get("id"), "tenantDomain": tenant.get("domain")}
        return data


class CoralAction(BaseModel):
    actionType: Literal["FLAG"] = "FLAG"
    reason: Literal["COMMENT_DETECTED_TOXIC", "COMMENT_DETECTED_SPAM"]


class CoralRejectionReason(BaseModel):
    code: RejectionCode
    legalGrounds: str | None = None
    detailedExplanation: str | None = None
    customReason: str | None = None


class CoralModerationAction(BaseModel):
    status: CommentStatus
    rejectionReason: CoralRejectionReason | None = None


class CoralResponse(BaseModel):
    """Coral's external moderation answer; ``{}`` (every field absent) makes Coral skip."""

    status: CommentStatus | None = None
    actions: list[CoralAction] | None = None
    tags: list[Literal["FEATURED", "STAFF"]] | None = None
    moderationAction: CoralModerationAction | None = None

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether one of the comma-joined ``sha256=<hex>`` values signs ``body`` with ``secret``."""
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest().encode()
    for part in (header or "").split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme.strip().lower() != "sha256":
            continue
        given = value.strip().lower().encode("utf-8", "replace")
        if hmac.compare_digest(given, expected):
            return True
    return False


# --- the synchronous judge -------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    decision: PolicyDecision
    scores: dict[str, float]
    signals: list[SpamSignal]
    language: str | None
    space: str
    toxicity_available: bool


def load_toxicity(settings: Settings) -> tuple[Any | None, str | None]:
    """The configured toxicity scorer, or None and why (tests replace this function)."""
    if settings.toxicity_checkpoint is None:
        return None, NO_MODEL
    if settings.toxicity_config_dir is None:
        return None, "toxicity model not configured (HEMICYCLE_TOXICITY_CONFIG_DIR is not set)"
    try:
        require("score", "the Coral endpoint's toxicity model")
    except MissingExtra as exc:  # the endpoint still answers, without toxicity
        log.error("coral: toxicity model not loaded", extra={"error": str(exc)})
        return None, 'toxicity model not loaded: the "score" extra is not installed'
    from pipeline.models.toxicity import ToxicityScorer

    try:
        scorer = ToxicityScorer.from_settings(settings)
    except Exception as exc:  # a broken model must not take the endpoint down: no toxicity
        log.error("coral: toxicity model failed to load", extra={"error": str(exc)})
        return None, f"toxicity model failed to load: {type(exc).__name__}"
    log.info(
        "coral: toxicity model loaded",
        extra={"model": scorer.model_id, "token_limit": scorer.max_length},
    )
    return scorer, None


class CoralJudge:
    """Policy, spam detector, language detector and toxicity model, loaded once, on first use.

    Loading happens under a lock (the first request waits; later ones never do). The spam
    detector keeps per-author burst windows and the toxicity model is not re-entrant, so each
    is used under its own lock.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._init_lock = threading.Lock()
        self._spam_lock = threading.Lock()
        self._langid_lock = threading.Lock()
        self._score_lock = threading.Lock()
        self._ready = False
        self.policy: Policy | None = None
        self._spam: SpamDetector | None = None
        self._langid: Any | None = None
        self.toxicity: Any | None = None
        self.toxicity_reason: str | None = NO_MODEL
        self.loads = 0  # how many times the models were loaded (1 at most)

    def ensure_loaded(self) -> None:
        if self._ready:
            return
        with self._init_lock:
            if self._ready:
                return
            try:
                policy = load_policy(self.settings.policy_file)
            except PolicyError as exc:
                raise ApiError(
                    503, "policy_invalid", f"the moderation policy is invalid: {exc}"
                ) from None
            self._spam = SpamDetector(policy.spam)
            self._langid = self._load_langid()
            self.toxicity, self.toxicity_reason = load_toxicity(self.settings)
            self.policy = policy
            self.loads += 1
            self._ready = True

    def _load_langid(self) -> Any | None:
        from pipeline.models.langid_shared import shared_detector

        try:
            return shared_detector(
                self.settings.target_languages,
                model_path=self.settings.langid_model_path,
                second_opinion=False,  # lingua takes seconds to load and is not needed here
                min_letters=self.settings.langid_min_letters,
            )
        except Exception as exc:  # without langid, default thresholds apply
            log.error("coral: language detector failed to load", extra={"error": str(exc)})
            return None

    def assess(self, text: str, author: str, space: str) -> Assessment:
        self.ensure_loaded()
        assert self.policy is not None and self._spam is not None
        with self._spam_lock:
            signals = self._spam.signals(text, author, datetime.now(UTC))
        scores = {"spam": combine(signals)}
        language: str | None = None
        if self._langid is not None:
            with self._langid_lock:
                language = self._langid.detect(text).lang
        available, reason = False, self.toxicity_reason
        if self.toxicity is not None:
            if language is None:
                reason = "language not identified"
            elif language not in self.toxicity.languages:
                reason = f"language {language} not covered by the toxicity model"
            else:
                try:
                    with self._score_lock:
                        values = self.toxicity.score([text])[0]
                    scores.update(values)
                    available, reason = True, None
                except Exception as exc:  # score what we can; the pipeline scores it again
                    log.error("coral: toxicity scoring failed", extra={"error": str(exc)})
                    reason = f"toxicity scoring failed: {type(exc).__name__}"
        decision = decide(
            self.policy,
            PolicyInputs(
                space=space,
                language=language,
                scores=scores,
                toxicity_available=available,
                unavailable_reason=reason,
                signal_explanations=tuple(s.explanation for s in signals),
            ),
        )
        return Assessment(decision, scores, signals, language, space, available)


def coral_answer(policy: Policy, assessment: Assessment) -> CoralResponse:
    """Map a policy decision onto Coral's answer (rules in the module docstring)."""
    hide: list[str] = []
    review: list[str] = []
    for category, value in assessment.scores.items():
        if category not in policy.thresholds:
            continue
        low, high, _ = policy.threshold(category, assessment.language, assessment.space)
        if value >= high:
            hide.append(category)
        elif value >= low:
            review.append(category)
    action = assessment.decision.action
    if action == "auto_approve":
        return CoralResponse()
    triggered = hide + review if action == "auto_hide" else review
    reasons = []
    if any(category != "spam" for category in triggered):
        reasons.append(TOXIC)
    if "spam" in triggered:
        reasons.append(SPAM)
    actions = [CoralAction(reason=reason) for reason in reasons] or None  # type: ignore[arg-type]
    if action == "needs_review":
        return CoralResponse(actions=actions) if actions else CoralResponse()
    if any(signal.name == "blocked_domain" for signal in assessment.signals):
        # The policy's reasons, less what was not scored (nothing to do with the rejection).
        shown = [r for r in assessment.decision.reasons if not r.startswith("toxicity not scored")]
        explanation = "; ".join(shown)[:2_000] or "link to a blocked domain"
        return CoralResponse(
            status="REJECTED",
            actions=actions or [CoralAction(reason=SPAM)],
            moderationAction=CoralModerationAction(
                status="REJECTED",
                rejectionReason=CoralRejectionReason(code="SPAM", detailedExplanation=explanation),
            ),
        )
    return CoralResponse(status="PREMOD", actions=actions)


def comment_id(story_id: str, author_id: str, parent_id: str | None, text: str) -> str:
    """Hemicycle's id of a Coral comment (Coral sends none): a hash of where and what it is."""
    digest = hashlib.sha256(
        json.dumps([story_id, author_id, parent_id, text], ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    return f"c-{digest[:32]}"


def comment_contribution(request: CoralRequest, text: str, settings: Settings) -> Contribution:
    """The comment as a contribution of platform ``coral-<tenantID>`` (id: content hash)."""
    return Contribution.model_validate(
        {
            "id": comment_id(request.story.id, request.author.id, request.comment.parentID, text),
            "version": 1,
            "platform": f"coral-{request.tenantID}",
            "space": request.site.id if request.site is not None else "coral",
            "kind": "comment",
            "author": request.author.id,
            "body": text,
            "created_at": datetime.now(UTC),
            "parent_id": request.comment.parentID or None,
            "url": request.story.url or None,
        },
        context=settings.validation_context,
    )


def router(context: AppContext) -> APIRouter:
    settings = context.settings
    api = APIRouter(prefix="/v1/coral", tags=["coral"], route_class=ApiRoute)
    judge = CoralJudge(settings)

    def publish(request: CoralRequest, text: str) -> None:
        try:
            contribution = comment_contribution(request, text, settings)
            context.publish([submission_event(contribution, producer="coral")])
        except ValidationError as exc:
            log.warning(
                "coral: comment not published",
                extra={"reason": describe_validation_error(exc), "tenant": request.tenantID},
            )
        except (BusError, StoreError) as exc:
            log.error("coral: comment not published", extra={"error": str(exc)})

    def moderate_sync(request: CoralRequest, text: str) -> CoralResponse:
        if (request.author.role or "").upper() in TRUSTED_ROLES or not text.strip():
            return CoralResponse()
        space = request.site.id if request.site is not None else "coral"
        assessment = judge.assess(text[: settings.max_body_chars], request.author.id, space)
        assert judge.policy is not None
        return coral_answer(judge.policy, assessment)

    @api.post(
        "/moderate",
        response_model=CoralResponse,
        response_model_exclude_none=True,
        summary="Coral external moderation phase",
        description=(
            "Configure in Coral (Admin → Configure → Moderation → External moderation phase) "
            "with this URL. Authenticated by `X-Coral-Signature` (HEMICYCLE_CORAL_SECRET). "
            "Answers `{}` (Coral goes on), FLAG actions, or a PREMOD / REJECTED status."
        ),
        responses=error_responses(400, 401, 413, 415, 422, 503),
        openapi_extra=json_body(inline_schema(CoralRequest), "What Coral sends."),
    )
    async def moderate(request: Request) -> JSONResponse:
        secret = settings.coral_secret.get_secret_value() if settings.coral_secret else ""
        if not secret:
            raise ApiError(
                503,
                "coral_disabled",
                "Coral external moderation is not configured: set HEMICYCLE_CORAL_SECRET to the "
                "phase's signing secret (Coral shows it when the phase is created)",
            )
        if "REPLACE_ME" in secret or len(secret) < MIN_SECRET_CHARS:
            raise ApiError(
                503,
                "coral_disabled",
                "HEMICYCLE_CORAL_SECRET looks like a placeholder (shorter than "
                f"{MIN_SECRET_CHARS} characters or containing REPLACE_ME): set it to the "
                "phase's signing secret",
            )
        check_content_type(request)
        raw = await read_body(request, settings.max_event_bytes)
        header = request.headers.get("x-coral-signature")
        if not header:
            raise ApiError(401, "unauthorized", "missing X-Coral-Signature header")
        if not verify_signature(secret, raw, header):
            raise ApiError(
                401,
                "unauthorized",
                "X-Coral-Signature does not match the body signed with HEMICYCLE_CORAL_SECRET",
            )
        parsed = parse_request(raw, CoralRequest)
        text = html_to_text(parsed.comment.body)
        answer = await run_in_threadpool(moderate_sync, parsed, text)
        task = BackgroundTask(publish, parsed, text) if text.strip() else None
        return JSONResponse(answer.body(), background=task)

    return api
