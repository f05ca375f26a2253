"""Translation model backends: installed model directories, read, installed and loaded offline.

Two engines, one interface (:class:`TranslationBackend`):

* ``argos``: an argostranslate 1.11 package directory (``metadata.json``, ``model/`` in
  CTranslate2 format, ``sentencepiece.model``). Loaded with ``ctranslate2.Translator`` and
  driven directly with ``translate_batch`` over the whole batch (argostranslate's own
  ``translate()`` decodes one text at a time and is only the per-text baseline elsewhere).
* ``transformers``: any local Hugging Face seq2seq directory (MarianMT, NLLB, M2M-100, ...).
  A ``hemicycle.json`` next to ``config.json`` declares what it translates::

      {"pairs": [["en", "de"]]}                                   # pairwise (MarianMT)
      {"languages": {"en": "eng_Latn", "de": "deu_Latn"}, "multi_target": true}  # NLLB/M2M

  Without it, a MarianMT directory named ``...opus-mt-xx-yy`` is taken as the pair (xx, yy).
  ``name`` in ``hemicycle.json`` (written by :func:`install_model`) keeps the model id stable
  when the directory is renamed on install.

Modules: :mod:`.base` (shared types), :mod:`.discovery` (reading and listing installed
models), :mod:`.install`, one module per engine (:mod:`.argos`, :mod:`.hf`,
:mod:`pipeline.models.apertium`) and :mod:`.registry` (:func:`~.registry.load_backend`).

Nothing here downloads anything: transformers is called with ``local_files_only=True`` and
argostranslate is not imported at all. A backend object is meant for one worker thread.
"""
