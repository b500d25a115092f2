"""Progress of an initialize call: the events a callback receives, and a
ready-made terminal display (tqdm when installed, plain lines otherwise)."""
import dataclasses
import sys
import time
from typing import Optional


@dataclasses.dataclass
class Event:
    phase: str                    # "upload", "queued", "scaler_init", "fit", "compose", "stream"
    step: int = 0                 # fit: the step; upload/stream: bytes so far
    total: int = 0                # fit: steps; upload/stream: bytes in all
    loss: Optional[float] = None  # fit only
    accuracy: Optional[float] = None  # fit only: the batch's accuracy, percent
    file: Optional[str] = None    # stream only


class TerminalProgress:
    """A callable for initialize(progress=...): a bar per phase on stderr."""

    def __init__(self, stream=None, min_interval=0.5):
        self._stream = stream if stream is not None else sys.stderr
        self._min_interval = min_interval
        self._phase = None
        self._bar = None
        self._last = 0.0
        try:
            import tqdm  # noqa: F401
            self._tqdm = tqdm.tqdm
        except ImportError:
            self._tqdm = None

    def __call__(self, e: Event):
        key = (e.phase, e.file)
        if key != self._phase:
            self.close()
            self._phase = key
            label = e.phase if e.file is None else f"{e.phase} {e.file}"
            if self._tqdm is not None and e.total:
                unit = "step" if e.phase == "fit" else "B"
                self._bar = self._tqdm(total=e.total, desc=label, unit=unit,
                                       unit_scale=unit == "B", file=self._stream, leave=False)
            else:
                print(f"wave-init: {label}", file=self._stream, flush=True)
        if self._bar is not None:
            self._bar.n = e.step
            if e.loss is not None:
                self._bar.set_postfix(loss=f"{e.loss:.4f}", acc=f"{e.accuracy:.1f}%",
                                      refresh=False)
            self._bar.refresh()
        elif e.total and (e.step == e.total or e.step == 1
                          or time.monotonic() - self._last >= self._min_interval):
            self._last = time.monotonic()
            tail = f" loss {e.loss:.4f} acc {e.accuracy:.1f}%" if e.loss is not None else ""
            print(f"wave-init: {e.phase} {e.step}/{e.total}{tail}", file=self._stream,
                  flush=True)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
