"""Delivery of outcomes and translations back to platforms: signed webhooks with retries.

* :mod:`~pipeline.delivery.webhooks`: which URL and secret each platform has (TOML);
* :mod:`~pipeline.delivery.payloads`: the JSON body sent for each event;
* :mod:`~pipeline.delivery.signing`: the ``X-Hemicycle-Signature`` header, and its check;
* :mod:`~pipeline.delivery.sender`: one POST with bounded, jittered exponential retries;
* :mod:`~pipeline.delivery.deliverer`: events in, deliveries out (used by the ``delivery``
  worker and by ``hemicycle deliveries retry``).
"""

from pipeline.delivery.signing import SIGNATURE_HEADER, sign, verify

__all__ = ["SIGNATURE_HEADER", "sign", "verify"]
