"""Operator tools: the work behind ``hemicycle rebuild``, ``status``, ``export``, ``detect`` and
``policy check`` (their flags and printing are in :mod:`pipeline.cli`).

* :mod:`pipeline.ops.rebuild`: wipe the store and replay the log of record into it;
* :mod:`pipeline.ops.status`: topic counts, consumer lag, queue counts, dead letters, fan-out;
* :mod:`pipeline.ops.export`: one JSON object per contribution (``--full``: the queue item);
* :mod:`pipeline.ops.detect`: offline language identification of a JSONL file;
* :mod:`pipeline.ops.policy_report`: what a valid policy file does, in words and examples.
"""
