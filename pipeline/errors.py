"""The exceptions of Hemicycle, in one hierarchy: may a retry succeed, or never?

::

    HemicycleError                      every exception Hemicycle raises on purpose
    ├── TransientError                  the same call may succeed later: retry it
    │   ├── BusUnavailable              the bus cannot be reached now
    │   ├── StoreUnavailable            the store cannot be reached now
    │   └── ConcurrentWriteError        the item kept changing under a triage write
    ├── PermanentError                  the same input fails the same way every time
    │   ├── ConfigError                 invalid settings (WebhookConfigError, MissingExtra)
    │   ├── BusConfigError, RecordsRefused   the bus refuses the request or the records
    │   ├── EventDecodeError, SealError      a record that is not a valid event of ours
    │   ├── StageError                  an event a stage can never process (DeliveryFailed)
    │   ├── PolicyError, CategoryTableError, TranslationModelError, ToxicityLoadError,
    │   │   OnnxBackendError            a file or a model that cannot be used as it is
    │   ├── ApiKeyError, AccountError, RuleError, DsaRefused, NothingToErase
    │   │                               bad input or a refusal, said to whoever asked
    │   └── LoginRequired, Refused, Stale, Taken, Conflict, NotFound
    │                                   a moderator UI request that cannot be done as asked
    └── (either, said by the instance)  BusError, StoreError (bases of the two above),
                                        ApiError (its status), WebhookError (``permanent``),
                                        SubmitError (a refusal or the API out of reach)

What each part of the product does with them:

* **The worker runner** (:mod:`pipeline.workers.runner`): on a transient bus or store failure
  it commits nothing, waits with doubling backoff and reads the batch again from the last
  commit, so a worker rides out an outage. A permanent failure of one event dead-letters that
  event (``invalid_event`` or ``processing_failed``) and the worker moves on; refused records
  likewise. A ``ConfigError`` stops the worker at start.
* **The platform API** (:mod:`pipeline.api.models`): a transient failure answers 503 with
  ``Retry-After`` ("nothing was accepted, retry later"); a permanent one a 4xx naming what to
  fix (``ApiError`` carries its status). The moderator UI answers 4xx likewise.
* **The command line** (:mod:`pipeline.cli`): a permanent error prints ``hemicycle: <why>`` and
  exits 2 (fix the command, the file or the configuration); a transient one prints the same
  and exits 1 (run it again later). Commands that expect an error of their own name it and
  choose their exit code first.

A class keeps its name and the module it is imported from; a class that was a ``ValueError``
(or ``LookupError``, ``RuntimeError``) is one still, so every ``except`` written before this
hierarchy still catches what it caught.
"""

from __future__ import annotations


class HemicycleError(Exception):
    """Base of every exception Hemicycle raises on purpose."""


class TransientError(HemicycleError):
    """A failure of the moment (a backend out of reach): the same call may succeed later."""


class PermanentError(HemicycleError):
    """A failure of the input or the configuration: retrying the same thing fails again."""
