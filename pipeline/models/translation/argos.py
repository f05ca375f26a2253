"""The ``argos`` engine: an argos package driven with CTranslate2 ``translate_batch``."""

from __future__ import annotations

import os
from collections.abc import Sequence

from pipeline.models.translation.base import (
    BackendOptions,
    Item,
    ModelInfo,
    TranslationModelError,
    check_pairwise,
    decode_budget,
    load_json,
)

_EOS = "</s>"


class ArgosBackend:
    """An argos package driven with ``ctranslate2.Translator.translate_batch``."""

    def __init__(self, info: ModelInfo, options: BackendOptions) -> None:
        import ctranslate2
        import sentencepiece

        self.info = info
        self.device = options.device
        self.beam_size = options.beam_size
        self.max_batch_size = options.max_batch_size
        self.max_input_tokens = max(2, options.max_input_tokens)
        model_dir = info.path / "model"
        if options.device == "cuda":
            supported = ctranslate2.get_supported_compute_types("cuda")
            preferred = [t for t in ("int8_float16", "float16") if t in supported]
            compute_type = preferred[0] if preferred else "default"
        else:
            compute_type = "int8"
        workers = options.threads if options.threads is not None else min(2, os.cpu_count() or 1)
        try:
            self.translator = ctranslate2.Translator(
                str(model_dir),
                device=options.device,
                compute_type=compute_type,
                inter_threads=max(1, workers) if options.device == "cpu" else 1,
                intra_threads=1,
            )
            self.sp = sentencepiece.SentencePieceProcessor(
                model_file=str(info.path / "sentencepiece.model")
            )
        except (RuntimeError, OSError, ValueError) as exc:
            raise TranslationModelError(f"cannot load argos model {info.path}: {exc}") from exc
        ct2_config_path = model_dir / "config.json"
        ct2_config = load_json(ct2_config_path) if ct2_config_path.is_file() else {}
        # CTranslate2 appends </s> itself when its config says add_source_eos; otherwise we do.
        self._append_eos = not ct2_config.get("add_source_eos", False)
        meta = load_json(info.path / "metadata.json")
        self._target_prefix = str(meta.get("target_prefix") or "")

    def _tokens(self, text: str) -> list[str]:
        pieces: list[str] = self.sp.encode(text, out_type=str)
        return pieces[: self.max_input_tokens - 1]

    def count_tokens(self, text: str, source: str) -> int:
        if not text.strip():
            return 0
        return len(self.sp.encode(text, out_type=str)) + 1  # + </s>

    def translate(self, items: Sequence[Item]) -> list[str]:
        check_pairwise(self.info, items)
        out = [""] * len(items)
        todo: list[int] = []
        batch: list[list[str]] = []
        for i, (text, _src, _tgt) in enumerate(items):
            if not text.strip():
                continue
            tokens = self._tokens(text)
            if not tokens:
                continue
            todo.append(i)
            batch.append([*tokens, _EOS] if self._append_eos else tokens)
        if not batch:
            return out
        longest = max(len(t) for t in batch)
        prefix = [[self._target_prefix]] * len(batch) if self._target_prefix else None
        results = self.translator.translate_batch(
            batch,
            target_prefix=prefix,
            beam_size=self.beam_size,
            max_batch_size=self.max_batch_size,
            max_input_length=self.max_input_tokens,
            max_decoding_length=decode_budget(longest, 2 * self.max_input_tokens),
        )
        for i, result in zip(todo, results, strict=True):
            hyp = list(result.hypotheses[0])
            if self._target_prefix and hyp[:1] == [self._target_prefix]:
                hyp = hyp[1:]
            out[i] = self.sp.decode_pieces(hyp).strip()
        return out
