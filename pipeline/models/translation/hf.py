"""The ``transformers`` engine: a local Hugging Face seq2seq model (MarianMT, NLLB, M2M-100)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pipeline.models.translation.base import (
    BackendOptions,
    Item,
    ModelInfo,
    TranslationModelError,
    check_pairwise,
    decode_budget,
)
from pipeline.models.translation.discovery import language_tokens, read_hemicycle


class TransformersBackend:
    """A local Hugging Face seq2seq model (pairwise MarianMT or many-to-many NLLB/M2M-100)."""

    def __init__(self, info: ModelInfo, options: BackendOptions) -> None:
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self.info = info
        self.device = options.device
        self.beam_size = options.beam_size
        self.max_batch_size = max(1, options.max_batch_size)
        if options.threads is not None and options.device == "cpu":
            torch.set_num_threads(max(1, options.threads))
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(info.path), local_files_only=True)
            model = AutoModelForSeq2SeqLM.from_pretrained(str(info.path), local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise TranslationModelError(
                f"cannot load transformers model {info.path}: {exc}"
            ) from exc
        model.eval()
        # We always pass max_new_tokens; a checkpoint's own max_length (Marian ships 512) would
        # only make generate() warn on every call.
        model.generation_config.max_length = None
        if options.device == "cuda":
            model = model.to(device="cuda", dtype=torch.float16)
        self.model = model
        self._torch = torch
        positions = getattr(model.config, "max_position_embeddings", None) or 1024
        self.max_input_tokens = max(2, min(options.max_input_tokens, positions))
        self._max_output_tokens = max(2, min(2 * self.max_input_tokens, positions - 1))
        self._lang_tokens: dict[str, str] = {}
        self._lang_ids: dict[str, int] = {}
        if info.multi_target:
            self._lang_tokens = language_tokens(read_hemicycle(info.path), info.path)
            unk = self.tokenizer.unk_token_id
            for code, token in self._lang_tokens.items():
                token_id = self.tokenizer.convert_tokens_to_ids(token)
                if not isinstance(token_id, int) or token_id == unk:
                    raise TranslationModelError(
                        f"{info.path}: language token {token!r} for {code!r} is not in the "
                        "tokenizer vocabulary"
                    )
                self._lang_ids[code] = token_id

    def _set_source(self, source: str) -> None:
        if self.info.multi_target and hasattr(self.tokenizer, "src_lang"):
            self.tokenizer.src_lang = self._lang_tokens[source]

    def count_tokens(self, text: str, source: str) -> int:
        if not text.strip():
            return 0
        if self.info.multi_target and source in self._lang_tokens:
            self._set_source(source)
        return len(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    def _check(self, items: Sequence[Item]) -> None:
        if not self.info.multi_target:
            check_pairwise(self.info, items)
            return
        for _text, src, tgt in items:
            if src not in self._lang_tokens or tgt not in self._lang_tokens:
                raise TranslationModelError(
                    f"{self.info.model_id} ({self.info.path}) does not translate {src}->{tgt} "
                    f"(languages: {sorted(self._lang_tokens)})"
                )

    def translate(self, items: Sequence[Item]) -> list[str]:
        self._check(items)
        out = [""] * len(items)
        groups: dict[tuple[str, str], list[int]] = {}
        for i, (text, src, tgt) in enumerate(items):
            if text.strip():
                groups.setdefault((src, tgt), []).append(i)
        for (src, tgt), indices in groups.items():
            self._set_source(src)
            texts = [items[i][0] for i in indices]
            for idx_chunk, outputs in self._generate(texts, tgt, indices):
                for i, text in zip(idx_chunk, outputs, strict=True):
                    out[i] = text
        return out

    def _generate(
        self, texts: list[str], target: str, indices: list[int]
    ) -> Iterable[tuple[list[int], list[str]]]:
        """Length-sorted chunks of ``max_batch_size``; yields (original indices, outputs)."""
        torch = self._torch
        ids = self.tokenizer(
            texts, add_special_tokens=True, truncation=True, max_length=self.max_input_tokens
        )["input_ids"]
        order = sorted(range(len(texts)), key=lambda k: len(ids[k]))
        pad_id = self.tokenizer.pad_token_id or 0
        extra: dict[str, Any] = {}
        if self.info.multi_target:
            extra["forced_bos_token_id"] = self._lang_ids[target]
        for start in range(0, len(order), self.max_batch_size):
            chunk = order[start : start + self.max_batch_size]
            width = max(len(ids[k]) for k in chunk)
            input_ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, k in enumerate(chunk):
                input_ids[row, : len(ids[k])] = torch.tensor(ids[k])
                mask[row, : len(ids[k])] = 1
            with torch.inference_mode():
                generated = self.model.generate(
                    input_ids=input_ids.to(self.device),
                    attention_mask=mask.to(self.device),
                    num_beams=self.beam_size,
                    max_new_tokens=decode_budget(width, self._max_output_tokens),
                    **extra,
                )
            decoded = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
            yield [indices[k] for k in chunk], [d.strip() for d in decoded]
