"""Apertium: Debian's rule-based translation engine as a :class:`TranslationBackend`.

Installed pairs are read from the modes directory (``/usr/share/apertium/modes``): a mode
``eng-spa.mode`` or ``fr-es.mode`` is one direction, its names mapped to ISO 639-1 codes
(``hbs`` translates Croatian, Serbian and Bosnian; ``eng-hbs_HR`` writes Croatian). Regional
variants we have no code for (``es-pt_BR``, ``spa-cat_valencia``) and debugging modes
(``eco-es-fr``) are left out.

Each pair runs one long-lived pipeline of the mode's programs in null-flush mode (what
``apertium -z -u -f none`` runs, without its line-buffering wrapper): segments are written
separated by ``\\0`` and read back the same way, so a batch costs no process start.
The text is put into Apertium's stream format here, markup-safe: tags, URLs, mentions,
hashtags, newlines and every character the stream format reserves travel as *superblanks*,
which Apertium copies verbatim and never translates; the marks it adds itself (``*`` unknown,
``#`` and ``@`` dictionary gaps) are dropped, so markup is neither lost nor injected. A crashed
process is restarted and the batch retried once; a batch that times out kills its process.
Either failure raises :class:`TranslationModelError`, so the runner retries and dead-letters.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from pipeline.languages import known_language
from pipeline.models.translation.base import Item, ModelInfo, TranslationModelError, check_pairwise

__all__ = ["MODES_DIR", "ApertiumBackend", "apertium_available", "list_apertium_models"]

MODES_DIR = Path("/usr/share/apertium/modes")

# Apertium's language names (ISO 639-3, a few 639-1) → the ISO 639-1 codes we use.
_CODES: dict[str, tuple[str, ...]] = {
    "afr": ("af",), "ast": (), "bel": ("be",), "bos": ("bs",), "bul": ("bg",),
    "cat": ("ca",), "ces": ("cs",), "dan": ("da",), "deu": ("de",), "ell": ("el",),
    "eng": ("en",), "epo": ("eo",), "est": ("et",), "eus": ("eu",), "fin": ("fi",),
    "fra": ("fr",), "gle": ("ga",), "glg": ("gl",), "hbs": ("hr", "sr", "bs"),
    "hbs_BS": ("bs",), "hbs_HR": ("hr",), "hbs_SR": ("sr",), "hrv": ("hr",), "hun": ("hu",),
    "isl": ("is",), "ita": ("it",), "lav": ("lv",), "lit": ("lt",), "mkd": ("mk",),
    "mlt": ("mt",), "nld": ("nl",), "nno": ("nn",), "nob": ("nb",), "oci": ("oc",),
    "pol": ("pl",), "por": ("pt",), "ron": ("ro",), "rus": ("ru",), "slk": ("sk",),
    "slv": ("sl",), "spa": ("es",), "srp": ("sr",), "swe": ("sv",), "ukr": ("uk",),
}  # fmt: skip

# Spans Apertium must copy verbatim: tags, URLs, mentions, hashtags, line breaks, reserved chars.
_VERBATIM = re.compile(
    r"<[^<>\n]{0,500}>"  # a tag
    r"|https?://\S+|[@#][\w.-]+"  # a URL, a mention, a hashtag
    r"|\s*\n\s*|[\\\[\]^$/<>{}@*#~+|]"  # a line break, a reserved character
)
_MARKS = frozenset("*#@~")


def _codes(name: str, *, target: bool = False) -> tuple[str, ...]:
    """ISO 639-1 codes a mode's language name stands for (none when unknown). A target must
    be one language: ``hbs`` reads Croatian, Serbian and Bosnian but writes none of them."""
    if target and len(_CODES.get(name, ())) > 1:
        return ()
    if name in _CODES:
        codes = _CODES[name]
    elif "_" not in name and len(name) == 2:
        codes = (name,)
    else:
        codes = ()
    return tuple(c for c in codes if known_language(c))


def _data_size(mode: Path) -> int:
    """Bytes of the pair's data directory (the folder its mode file reads from)."""
    match = re.search(r"'(/[^']+)'", mode.read_text(encoding="utf-8", errors="replace"))
    folder = Path(match.group(1)).parent if match else mode.parent
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            file = Path(root) / name
            if file.is_file() and not file.is_symlink():
                total += file.stat().st_size
    return total


def apertium_available() -> bool:
    """Whether the ``apertium`` command is installed."""
    return all(shutil.which(tool) for tool in ("apertium", "apertium-wblank-mode", "lt-proc"))


def list_apertium_models(modes_dir: Path = MODES_DIR) -> list[ModelInfo]:
    """One model per installed Apertium direction we can name (sorted by mode name)."""
    modes_dir = Path(modes_dir)
    if not apertium_available() or not modes_dir.is_dir():
        return []
    out = []
    for mode in sorted(modes_dir.glob("*.mode")):
        parts = mode.stem.split("-")
        if len(parts) != 2:
            continue
        sources, targets = _codes(parts[0]), _codes(parts[1], target=True)
        pairs = frozenset((s, t) for s in sources for t in targets if s != t)
        if not pairs:
            continue
        out.append(
            ModelInfo(
                engine="apertium",
                model_id=f"apertium:{mode.stem}",
                path=mode,
                pairs=pairs,
                multi_target=False,
                size_bytes=_data_size(mode),
            )
        )
    return out


def to_stream(text: str) -> str:
    """``text`` in Apertium's stream format, everything not to translate in superblanks."""
    out: list[str] = []
    last = 0
    for match in _VERBATIM.finditer(text):
        out.append(text[last : match.start()])
        raw = match.group(0).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
        out.append(f"[{raw}]")
        last = match.end()
    out.append(text[last:])
    out.append("[]")  # a closing blank: without it the last punctuation mark is lost
    return "".join(out)


def from_stream(stream: str) -> str:
    """Plain text back from Apertium's output: superblanks as written, its own marks dropped,
    runs of spaces between words made one."""
    out: list[str] = []
    i, n = 0, len(stream)
    while i < n:
        char = stream[i]
        if char == "\\" and i + 1 < n:
            out.append(stream[i + 1])
            i += 2
        elif char == "[":
            i += 1
            while i < n and stream[i] != "]":
                if stream[i] == "\\" and i + 1 < n:
                    i += 1
                out.append(stream[i])
                i += 1
            i += 1
        elif char in _MARKS:
            i += 1
        elif char == " " and out and out[-1] == " ":
            i += 1  # a word Apertium dropped leaves its blanks behind
        else:
            out.append(char)
            i += 1
    return "".join(out)


class _Process:
    """One ``apertium -z`` pipeline for one mode, fed and read ``\\0`` by ``\\0``."""

    def __init__(self, mode: Path) -> None:
        env = {**os.environ, "LC_ALL": "C.UTF-8"}
        try:
            pipeline = subprocess.run(
                ["apertium-wblank-mode", "-z", str(mode)],
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise ChildProcessError(f"cannot read mode {mode}: {exc}") from exc
        # The mode's $1 is the generator option (-n: no marks), $2 the tagger's (none). The
        # ``apertium`` wrapper itself is not used: its awk stages wait for more input.
        self.proc = subprocess.Popen(
            ["bash", "-c", pipeline, "apertium", "-n", ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        self.errors: deque[str] = deque(maxlen=20)
        self._pending = b""
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.errors.append(line.decode("utf-8", "replace").rstrip())

    def _write(self, payload: bytes) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(payload)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the reader sees the end of output and reports the crash

    def run(self, texts: Sequence[str], timeout_s: float) -> list[str]:
        """Translate ``texts`` (stream format) in one pass; raises on crash or timeout."""
        payload = b"".join(t.replace("\0", "").encode() + b"\0" for t in texts)
        writer = threading.Thread(target=self._write, args=(payload,), daemon=True)
        writer.start()
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        outputs: list[bytes] = []
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while len(outputs) < len(texts):
                *done, self._pending = self._pending.split(b"\0")
                outputs.extend(done)
                if len(outputs) >= len(texts):
                    break
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.kill()
                    raise TimeoutError(f"no answer within {timeout_s:.0f} s")
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise ChildProcessError("; ".join(self.errors) or "apertium exited")
                self._pending += chunk
        writer.join()
        return [o.decode("utf-8", "replace") for o in outputs[: len(texts)]]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                # Closing stdin flushes what the dead process never read: a broken pipe.
                with contextlib.suppress(OSError):
                    stream.close()


class ApertiumBackend:
    """An installed Apertium direction; one process, started on first use, kept running.

    ``timeout_s`` bounds a batch: a fixed allowance plus a little per character."""

    device = "cpu"

    def __init__(self, info: ModelInfo, *, timeout_s: float = 30.0) -> None:
        if not apertium_available():
            raise TranslationModelError("apertium is not installed (apt-get install apertium)")
        self.info = info
        self.timeout_s = timeout_s
        self._process: _Process | None = None

    def count_tokens(self, text: str, source: str) -> int:
        return len(text.split()) + 1 if text.strip() else 0

    def _run(self, texts: list[str]) -> list[str]:
        if self._process is None or not self._process.alive():
            self.close()
            self._process = _Process(self.info.path)
        budget = self.timeout_s + sum(len(t) for t in texts) / 2_000
        return self._process.run(texts, budget)

    def translate(self, items: Sequence[Item]) -> list[str]:
        check_pairwise(self.info, items)
        out = [""] * len(items)
        todo = [i for i, (text, _src, _tgt) in enumerate(items) if text.strip()]
        if not todo:
            return out
        streams = [to_stream(items[i][0]) for i in todo]
        try:
            try:
                results = self._run(streams)
            except ChildProcessError:
                self.close()
                results = self._run(streams)  # restarted once after a crash
        except (ChildProcessError, TimeoutError, OSError) as exc:
            self.close()
            raise TranslationModelError(f"{self.info.model_id} failed: {exc}") from exc
        for i, result in zip(todo, results, strict=True):
            out[i] = from_stream(result).strip()
        return out

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process = None
