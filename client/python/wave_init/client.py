"""wave_init.Client: the wave-init service from Python."""
import dataclasses
import hashlib
import json
import os
import threading
from typing import Callable, Dict, List, Optional, Union

import grpc
import numpy as np
from google.protobuf import json_format

from wave_init._proto.wave.v1 import wave_pb2, wave_pb2_grpc
from wave_init.progress import Event, TerminalProgress
from wave_init.training import TrainingRecipe
from wave_init import safetensors

UPLOAD_CHUNK_BYTES = 1 << 20
_DTYPES = {"f32": wave_pb2.WEIGHT_DTYPE_F32, "f16": wave_pb2.WEIGHT_DTYPE_F16,
           "bf16": wave_pb2.WEIGHT_DTYPE_BF16}
_HEALTH = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"]
# The API's file names (FileChunk.name) and an uploaded label's bytes, as
# core/base/wire_names.h has them.
MODEL_FILE, SCALERS_FILE = "model.safetensors", "scalers.safetensors"
LABEL_BYTES = 8


class WaveInitError(Exception):
    """A call that failed: `code` is the grpc.StatusCode, `message` the server's."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(f"{message} ({code.name})")
        self.code = code
        self.message = message


@dataclasses.dataclass
class Summary:
    depth: int
    width: int
    heads: int
    classes: int
    bank: str
    param_count: int
    scaler_count: int
    trainable_params: int
    trainable_ratio: float
    held_out_accuracy: Optional[float]  # percent; None when nothing was held out
    held_out_indices: List[int]         # which uploaded samples were held out, in order
    seconds: Dict[str, float]           # per phase
    sha256: str
    model_bytes: int
    scalers_sha256: str
    final_loss: float
    device: str
    steps_run: int = 0   # fewer than asked when early stopping stopped the fit
    best_step: int = 0   # the step whose weights were returned
    result_key: str = ""     # what resume() continues a broken download with
    cache_hit: bool = False  # served from the server's result cache: no fit ran
    target_index: int = 0    # which of initialize_sizes()' sizes
    fit_precision: str = ""  # what the fit ran at: "f32" or "bf16"
    fit_precision_note: str = ""  # why not what was asked; empty when it was
    head_refit_kept: bool = False  # the head refitted after the steps was returned

    @staticmethod
    def from_proto(s) -> "Summary":
        return Summary(
            depth=s.target.depth, width=s.target.width, heads=s.target.heads,
            classes=s.target.classes, bank=s.bank, param_count=s.param_count,
            scaler_count=s.scaler_count, trainable_params=s.trainable_params,
            trainable_ratio=s.trainable_ratio,
            held_out_accuracy=s.held_out_accuracy if s.held_out > 0 else None,
            held_out_indices=list(s.held_out_indices), seconds=dict(s.seconds),
            sha256=s.model_sha256, model_bytes=s.model_bytes,
            scalers_sha256=s.scalers_sha256, final_loss=s.final_loss, device=s.device,
            steps_run=s.steps_run, best_step=s.best_step, result_key=s.result_key,
            cache_hit=s.cache_hit, target_index=s.target_index,
            fit_precision=s.fit_precision, fit_precision_note=s.fit_precision_note,
            head_refit_kept=s.head_refit_kept)


@dataclasses.dataclass
class Result:
    weights: dict              # timm names -> torch.Tensor (NumPy arrays without torch)
    summary: Summary
    metadata: Dict[str, str]   # the file's safetensors metadata (wave.model_args, ...)
    scalers: Optional[dict] = None
    model_file: bytes = b""    # the file exactly as received and verified
    scalers_file: bytes = b""

    @property
    def mean(self) -> List[float]:
        """Per-channel input mean of pixels scaled to [0, 1]."""
        return json.loads(self.metadata["wave.preprocessing"])["mean"]

    @property
    def std(self) -> List[float]:
        return json.loads(self.metadata["wave.preprocessing"])["std"]

    @property
    def class_names(self) -> List[str]:
        """Index i names label i, when the request or the bank named them."""
        return json.loads(self.metadata.get("wave.class_names", "[]"))

    @property
    def recipe(self) -> Optional[TrainingRecipe]:
        """How to train these weights, as the bank measured it best on
        validation (None when the bank carries no recipe)."""
        return TrainingRecipe.from_metadata(self.metadata)


def _have_torch() -> bool:
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def _as_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _channels_last(images: np.ndarray) -> np.ndarray:
    """N x H x W x C from N x H x W, N x H x W x C or N x C x H x W (the
    channel axis is the one of size 1 or 3; the last when both are)."""
    if images.ndim == 3:
        return images[..., None]
    if images.ndim != 4:
        raise ValueError("images: expected N x H x W, N x H x W x C or N x C x H x W, "
                         f"got shape {images.shape}")
    if images.shape[3] in (1, 3):
        return images
    if images.shape[1] in (1, 3):
        return images.transpose(0, 2, 3, 1)
    raise ValueError(f"images: shape {images.shape} has no channel axis of size 1 or 3")


def fit_image(image: np.ndarray, channels: int, size: int) -> np.ndarray:
    """One H x W x C uint8 image brought to a bank's geometry by the rules the
    server's tools use (docs/own-data.md): grayscale repeated into RGB, RGB to
    luma; the shorter side scaled to `size` (PIL's antialiased bilinear, as
    torchvision's Resize) and the centre cut (as CenterCrop). Returns
    C x size x size."""
    from PIL import Image  # only needed when images are not the bank's shape
    h, w, c = image.shape
    if c == channels and h == size and w == size:
        return image.transpose(2, 0, 1)
    pil = Image.fromarray(image[..., 0] if c == 1 else image, "L" if c == 1 else "RGB")
    pil = pil.convert("L" if channels == 1 else "RGB")
    if (h, w) != (size, size):
        short, long = min(h, w), max(h, w)
        new_long = int(size * long / short)
        new_h, new_w = (size, new_long) if h <= w else (new_long, size)
        pil = pil.resize((new_w, new_h), Image.BILINEAR)
        top, left = int(round((new_h - size) / 2.0)), int(round((new_w - size) / 2.0))
        pil = pil.crop((left, top, left + size, top + size))
    out = np.asarray(pil)
    return (out[None] if out.ndim == 2 else out.transpose(2, 0, 1)).copy()


class _HeaderAnswer:
    """The server's answer to an upload's header (a server whose describe()
    has acknowledges_header sends Progress "upload" once every rule of the
    header held): the upload waits for it, so that no image is sent to a
    server that refused the header."""

    def __init__(self):
        self._heard = threading.Event()
        self._accepted = False

    def accept(self):
        self._accepted = True
        self._heard.set()

    def end(self):
        self._heard.set()

    def wait(self) -> bool:
        self._heard.wait()
        return self._accepted


def _check_sample_count(count: int, info: dict, sample_bytes: int):
    """Refuses, before anything is converted or sent, more samples than the
    server takes in one call (describe()'s max_samples and max_sample_bytes)."""
    most = [int(info[k]) for k in ("max_samples",) if int(info.get(k, 0)) > 0]
    if int(info.get("max_sample_bytes", 0)) > 0:
        most.append(int(info["max_sample_bytes"]) // (sample_bytes + LABEL_BYTES))
    if most and count > min(most):
        raise ValueError(
            f"images: {count} samples, but the server takes at most {min(most)} of this size "
            f"in one call (describe()'s max_samples and max_sample_bytes); pass a stratified "
            f"subset, e.g. wave_init.stratified_subset(images, labels, {min(most)})")


def stratified_subset(images, labels, count: int, seed: int = 0):
    """`count` of the labelled samples, the classes taken in turn (each
    class as evenly as it allows), in a random order fixed by `seed`: what
    wave-client's --samples sends. Returns (images, labels) as NumPy arrays."""
    images, labels = _as_numpy(images), _as_numpy(labels)
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"labels: expected {len(images)} integers, got shape {labels.shape}")
    if count <= 0 or count >= len(labels):
        return images, labels
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    groups = [order[labels[order] == c] for c in np.unique(labels)]
    taken = []
    for turn in range(max(len(g) for g in groups)):
        taken.extend(g[turn] for g in groups if turn < len(g))
        if len(taken) >= count:
            break
    chosen = rng.permutation(np.asarray(taken[:count]))
    return images[chosen], labels[chosen]


def _few_shot(images, labels, channels: int, size: int, normalized: bool = False):
    """The upload: images as [N, C, size, size] of the bank's shape and int64
    labels, both little-endian and contiguous. uint8 images are 0-255;
    float32 ones are in [0, 1] (torchvision's ToTensor) and are sent as 8
    bits, unless `normalized` (already (x - mean) / std by the bank's
    statistics: sent as float32, and then already of the bank's shape)."""
    images, labels = _as_numpy(images), _as_numpy(labels)
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"labels: expected {len(images)} integers, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels: integers, got {labels.dtype}")
    labels = np.ascontiguousarray(labels.astype("<i8"))
    if normalized:
        if images.dtype != np.float32:
            raise ValueError(f"images: normalized=True takes float32, got {images.dtype}")
        nchw = images if images.ndim == 4 and images.shape[1] in (1, 3) else \
            _channels_last(images).transpose(0, 3, 1, 2)
        if nchw.shape[1:] != (channels, size, size):
            raise ValueError(f"images: normalized images must already be the bank's "
                             f"{channels}x{size}x{size}; got {'x'.join(map(str, nchw.shape[1:]))}")
        return (np.ascontiguousarray(nchw.astype("<f4", copy=False)), labels,
                wave_pb2.IMAGE_DTYPE_FLOAT32)
    if images.dtype == np.float32 or images.dtype == np.float64:
        if images.size and (np.nanmin(images) < 0 or np.nanmax(images) > 1 or
                            np.isnan(images).any()):
            raise ValueError(
                "images: float images must be in [0, 1] (what torchvision's ToTensor gives); "
                f"these range from {np.nanmin(images):.3g} to {np.nanmax(images):.3g}. "
                "Pass normalized=True for images already normalized by the bank's mean/std")
        images = np.rint(images * 255).astype(np.uint8)
    elif images.dtype != np.uint8:
        raise ValueError(f"images: uint8 (0-255) or float32 in [0, 1], got {images.dtype}")
    hwc = _channels_last(images)
    if hwc.shape[1:] == (size, size, channels):
        out = hwc.transpose(0, 3, 1, 2)
    else:
        out = np.stack([fit_image(x, channels, size) for x in hwc]) if len(hwc) else \
            np.zeros((0, channels, size, size), np.uint8)
    return np.ascontiguousarray(out), labels, wave_pb2.IMAGE_DTYPE_UINT8


class _Download:
    """One streamed file: bytes in order, then checked against the summary."""

    def __init__(self, prefix: bytes = b""):
        self.data = bytearray(prefix)
        self.hash = hashlib.sha256(prefix)

    def append(self, chunk):
        if chunk.offset != len(self.data):
            raise WaveInitError(grpc.StatusCode.DATA_LOSS,
                                f"{chunk.name}: chunk at offset {chunk.offset}, expected "
                                f"{len(self.data)}")
        self.data += chunk.data
        self.hash.update(chunk.data)

    def verify(self, name, sha256, size):
        if len(self.data) != size or self.hash.hexdigest() != sha256:
            raise WaveInitError(grpc.StatusCode.DATA_LOSS,
                                f"{name}: received {len(self.data)} bytes with sha256 "
                                f"{self.hash.hexdigest()}, server sent {size} / {sha256}")
        return bytes(self.data)


class Client:
    """A connection to a wave-init server.

    Client("host:50051", token=..., tls=True, root_certificates=pem) and
    then health(), banks(), describe(bank), initialize(...). Usable as a
    context manager (closes the channel)."""

    def __init__(self, address: str, token: Optional[str] = None, tls: bool = False,
                 root_certificates: Optional[bytes] = None,
                 max_message_bytes: int = 64 << 20, lb_policy: Optional[str] = None):
        options = [("grpc.max_receive_message_length", max_message_bytes),
                   ("grpc.max_send_message_length", max_message_bytes)]
        if lb_policy is not None:
            # "round_robin" spreads calls over every address `address` resolves
            # to (dns:///a headless Service); gRPC's default sends all to one.
            if lb_policy not in ("round_robin", "pick_first"):
                raise ValueError(f"lb_policy must be round_robin or pick_first, not {lb_policy!r}")
            options.append(("grpc.lb_policy_name", lb_policy))
        if tls or root_certificates is not None:
            credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
            self._channel = grpc.secure_channel(address, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(address, options=options)
        self._stub = wave_pb2_grpc.WaveInitStub(self._channel)
        self._metadata = [("authorization", f"Bearer {token}")] if token else []
        # grpc.health.v1.Health/Check with the empty request (the whole
        # server); the response's one field is encoded by hand below.
        self._health = self._channel.unary_unary(
            "/grpc.health.v1.Health/Check", request_serializer=lambda _: b"",
            response_deserializer=lambda b: b)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _unary(self, method, request, deadline):
        try:
            return method(request, metadata=self._metadata, timeout=deadline)
        except grpc.RpcError as e:
            raise WaveInitError(e.code(), e.details()) from None

    def health(self, deadline: Optional[float] = 10) -> str:
        """The server's health: "SERVING" when it is ready for calls."""
        raw = self._unary(self._health, None, deadline)
        status = raw[1] if len(raw) >= 2 and raw[0] == 0x08 else 0  # field 1, varint
        return _HEALTH[status] if status < len(_HEALTH) else str(status)

    def banks(self, deadline: Optional[float] = 10) -> List[dict]:
        response = self._unary(self._stub.ListBanks, wave_pb2.ListBanksRequest(), deadline)
        return [json_format.MessageToDict(b, preserving_proto_field_name=True)
                for b in response.banks]

    def describe(self, bank: str = "", deadline: Optional[float] = 10) -> dict:
        info = self._unary(self._stub.DescribeBank, wave_pb2.DescribeBankRequest(name=bank),
                           deadline)
        return json_format.MessageToDict(info, preserving_proto_field_name=True)

    def initialize(self, depth: int, width: int, classes: int, images, labels, *,
                   heads: Optional[int] = None, **options) -> Result:
        """Initial weights for a ViT of `depth` x `width` fitted on the
        labelled few-shot `images` (NumPy arrays or tensors, N x C x H x W,
        N x H x W x C or N x H x W; uint8 0-255 or float32 in [0, 1] as
        torchvision's ToTensor gives), brought to the bank's channels and
        side before upload (grayscale to RGB or RGB to luma; resize and centre
        crop as torchvision's Resize then CenterCrop). Options:
        normalized (float32 already (x - mean) / std by the bank's figures),
        class_names (written into the file's metadata; names other than the bank's,
        describe()'s class_names, say the classes are your own: a fresh head and the
        bank's defaults for other classes unless head_from_bank is given), bank,
        steps, seed, batch, lr,
        held_out, head_from_bank, eval_every, patience, head_steps, max_passes
        (scaler steps at most this many passes over the fit's samples), tail_blocks
        (the scaler steps train only the last this many blocks; 0: every block),
        head_refit_steps (after the scaler steps, full-batch steps of the head alone
        on the fitted body's features, kept unless held-out accuracy drops: a better
        start for weights used as returned; result.summary.head_refit_kept), precision
        ("f32", "bf16": the fit's matrix products in bfloat16, the weights stay
        float32; unset: the server's default, describe()'s fit_precision), scaler_init
        ("structured", "select": tiles copied across a width, the better start
        for zero or few steps on the bank's own classes; "naive"), dtype ("f32",
        "f16", "bf16"), auxiliary (banks with several auxiliary models:
        "nearest", "narrower": the nearest no wider than the target, with
        "select" the better start for a width between two auxiliaries'),
        include_scalers, deadline (seconds), progress (a callable
        taking Event, or "bar"), resume_retries. Raises WaveInitError on any
        failure; a deadline or KeyboardInterrupt cancels the call on the
        server. A download that breaks after the file began is continued
        from where it stopped, up to `resume_retries` times (default 2)."""
        target = wave_pb2.TargetArchitecture(depth=depth, width=width, heads=heads or 0,
                                             classes=classes)
        return self._initialize([target], images, labels, **options)[0]

    def initialize_sizes(self, sizes, classes: int, images, labels, **options
                         ) -> Dict[str, Result]:
        """Several sizes from one upload: `sizes` as (depth, width) pairs or
        "DxW" strings; the same options as initialize(). Returns a dict
        "DxW" -> Result, in the order given."""
        targets = []
        for size in sizes:
            depth, width = (map(int, size.split("x")) if isinstance(size, str) else size)
            targets.append(wave_pb2.TargetArchitecture(depth=depth, width=width,
                                                       classes=classes))
        results = self._initialize(targets, images, labels, **options)
        return {f"{t.depth}x{t.width}": r for t, r in zip(targets, results)}

    def resume(self, result_key: str, model_prefix: bytes = b"", *,
               deadline: Optional[float] = None, progress=None) -> Result:
        """The result of an earlier call, from the server's result cache: the
        bytes after `model_prefix` (what a broken download already held) are
        streamed and the whole file is verified. WaveInitError NOT_FOUND when
        the server no longer keeps it."""
        header = wave_pb2.InitializeHeader(resume_key=result_key,
                                           resume_offset=len(model_prefix))
        report = TerminalProgress() if progress == "bar" else progress
        partial = {(0, MODEL_FILE): _Download(model_prefix)}
        summaries = self._stream(iter([wave_pb2.InitializeRequest(header=header)]), partial,
                                 report, deadline)
        return self._result(partial, summaries[0], 0)

    def _initialize(self, targets, images, labels, *, bank: Optional[str] = None,
                    steps: Optional[int] = None, seed: Optional[int] = None,
                    batch: Optional[int] = None, lr: Optional[float] = None,
                    held_out: Optional[int] = None, head_from_bank: Optional[bool] = None,
                    eval_every: Optional[int] = None, patience: Optional[int] = None,
                    head_steps: Optional[int] = None, scaler_init: Optional[str] = None,
                    auxiliary: Optional[str] = None, max_passes: Optional[float] = None,
                    tail_blocks: Optional[int] = None, head_refit_steps: Optional[int] = None,
                    precision: Optional[str] = None, dtype: str = "f32",
                    include_scalers: bool = False,
                    deadline: Optional[float] = None, resume_retries: int = 2,
                    progress: Union[None, str, Callable[[Event], None]] = None,
                    normalized: bool = False, class_names: Optional[List[str]] = None
                    ) -> List[Result]:
        if dtype not in _DTYPES:
            raise ValueError(f"dtype: one of {sorted(_DTYPES)}")
        info = self.describe(bank or "", deadline=deadline if deadline else 10)
        channels, size = int(info["channels"]), int(info["image_size"])
        _check_sample_count(len(labels), info, channels * size * size * (4 if normalized else 1))
        images, labels, image_dtype = _few_shot(images, labels, channels, size, normalized)
        classes = max(t.classes for t in targets)
        if len(labels) and (labels.min() < 0 or labels.max() >= classes):
            bad = int(labels.min() if labels.min() < 0 else labels.max())
            raise ValueError(f"labels: {bad} is outside [0, {classes}): the target has "
                             f"{classes} classes")
        header = wave_pb2.InitializeHeader(
            bank=bank or "",
            output=wave_pb2.OutputOptions(dtype=_DTYPES[dtype], include_scalers=include_scalers),
            num_samples=len(labels), image_dtype=image_dtype,
            image_shape=wave_pb2.ImageShape(channels=channels, height=size, width=size),
            class_names=list(class_names or []))
        if len(targets) == 1:
            header.target.CopyFrom(targets[0])
        else:
            header.targets.extend(targets)
        fit = header.fit
        for field, value in [("steps", steps), ("seed", seed), ("batch", batch), ("lr", lr),
                             ("held_out", held_out), ("head_from_bank", head_from_bank),
                             ("eval_every", eval_every), ("patience", patience),
                             ("head_steps", head_steps), ("scaler_init", scaler_init),
                             ("auxiliary", auxiliary), ("max_passes", max_passes),
                             ("tail_blocks", tail_blocks),
                             ("head_refit_steps", head_refit_steps), ("precision", precision)]:
            if value is not None:  # unset: the server's default
                setattr(fit, field, value)
        report = TerminalProgress() if progress == "bar" else progress
        files = {}
        answer = _HeaderAnswer() if info.get("acknowledges_header") else None
        try:
            summaries = self._stream(self._requests(header, images, labels, report, answer),
                                     files, report, deadline, answer=answer)
        except _Broken as broken:
            summaries = broken.summaries
            for _ in range(resume_retries + 1):
                # The first target without a summary continues where it broke;
                # targets after it (several sizes) cannot be resumed here.
                index = len(summaries)
                if broken.key is None or index != len(targets) - 1:
                    raise broken.error from None
                model = files.get((index, MODEL_FILE), _Download())
                header = wave_pb2.InitializeHeader(resume_key=broken.key,
                                                   resume_offset=len(model.data))
                files = {**files, (index, MODEL_FILE): model}
                for name in [k for k in files if k[0] == index and k[1] != MODEL_FILE]:
                    del files[name]
                try:
                    more = self._stream(iter([wave_pb2.InitializeRequest(header=header)]), files,
                                        report, deadline, index)
                    more[0].target_index = index
                    summaries = summaries + more
                    break
                except _Broken as again:
                    broken = again
            else:
                raise broken.error from None
        finally:
            if isinstance(report, TerminalProgress):
                report.close()
        return [self._result(files, s, i) for i, s in enumerate(summaries)]

    def initialize_to_file(self, path: str, *args, scalers_path: Optional[str] = None,
                           **kwargs) -> Summary:
        """initialize(), then the verified file written atomically to `path`
        (and the scalers to `scalers_path` when given)."""
        if scalers_path is not None:
            kwargs["include_scalers"] = True
        for target in [path] + ([scalers_path] if scalers_path is not None else []):
            _check_writable(target)  # before anything is uploaded
        progress = kwargs.get("progress")
        if progress is not None:  # progress names the files written, not the server's names
            report = TerminalProgress() if progress == "bar" else progress
            written = {MODEL_FILE: path, SCALERS_FILE: scalers_path}
            kwargs["progress"] = lambda e: report(
                dataclasses.replace(e, file=written.get(e.file) or e.file) if e.file else e)
        result = self.initialize(*args, **kwargs)
        _write_atomically(path, result.model_file)
        if scalers_path is not None:
            _write_atomically(scalers_path, result.scalers_file)
        return result.summary

    @staticmethod
    def _requests(header, images, labels, report, answer=None):
        yield wave_pb2.InitializeRequest(header=header)
        if answer is not None and not answer.wait():
            return  # the header was refused: the call's status says why
        per_sample = images[0].nbytes if len(images) else 1
        per_chunk = max(1, UPLOAD_CHUNK_BYTES // max(1, per_sample))
        total = images.nbytes
        for seq, begin in enumerate(range(0, len(labels), per_chunk)):
            end = min(len(labels), begin + per_chunk)
            yield wave_pb2.InitializeRequest(data=wave_pb2.DataChunk(
                sequence=seq, images=images[begin:end].tobytes(),
                labels=labels[begin:end].tobytes()))
            if report:
                report(Event("upload", step=end * per_sample, total=total))

    def _stream(self, requests, files, report, deadline, index_base=0, answer=None):
        """Runs one call, filling `files` keyed by (target index, name);
        returns the summaries. A call that breaks raises _Broken (with the
        key of the target whose file was streaming), a KeyboardInterrupt or
        failing callback cancels it on the server. `answer` hears the
        server's acceptance of the header, which the upload waits for."""
        call = self._stub.Initialize(requests, metadata=self._metadata, timeout=deadline)
        summaries, key = [], None
        try:
            for response in call:
                kind = response.WhichOneof("kind")
                if kind == "progress" and response.progress.phase == "upload" and answer:
                    answer.accept()
                elif kind == "progress":
                    p = response.progress
                    if p.result_key:
                        key = p.result_key
                    if report and p.phase == "fit":
                        report(Event("fit", step=p.step, total=p.total_steps, loss=p.loss,
                                     accuracy=p.accuracy))
                    elif report:
                        report(Event(p.phase))
                elif kind == "file":
                    f = response.file
                    download = files.setdefault((index_base + f.target_index, f.name),
                                                _Download())
                    download.append(f)
                    if report:
                        report(Event("stream", step=len(download.data), total=f.total_bytes,
                                     file=f.name))
                elif kind == "summary":
                    summaries.append(response.summary)
                    key = None
        except grpc.RpcError as e:
            error = WaveInitError(e.code(), e.details())
            if e.code() in _RESUMABLE:
                raise _Broken(error, key, summaries) from None
            raise error from None
        except BaseException:
            call.cancel()  # KeyboardInterrupt, a failing callback: the server stops too
            raise
        finally:
            if answer:
                answer.end()  # an upload still waiting stops
        if not summaries:
            raise WaveInitError(grpc.StatusCode.DATA_LOSS, "the server ended without a summary")
        return summaries

    @staticmethod
    def _result(files, s, index) -> Result:
        model_key = (index, MODEL_FILE)
        if model_key not in files:
            raise WaveInitError(grpc.StatusCode.DATA_LOSS, "the server sent no model file")
        model = files[model_key].verify(MODEL_FILE, s.model_sha256, s.model_bytes)
        torch = _have_torch()
        weights, metadata = safetensors.parse(model, as_torch=torch)
        result = Result(weights=weights, summary=Summary.from_proto(s), metadata=metadata,
                        model_file=model)
        if (index, SCALERS_FILE) in files:
            raw = files[(index, SCALERS_FILE)].verify(
                SCALERS_FILE, s.scalers_sha256, s.scalers_bytes)
            result.scalers, _ = safetensors.parse(raw, as_torch=torch)
            result.scalers_file = raw
        return result


# A broken connection, not an answer: worth continuing the download.
_RESUMABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}


class _Broken(Exception):
    def __init__(self, error, key, summaries):
        super().__init__(str(error))
        self.error, self.key, self.summaries = error, key, summaries


def _check_writable(path: str):
    """Makes the file's folder when missing; raises OSError naming the path
    and the system's reason when the file cannot be written there."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot write {path}: it is a folder")
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"cannot write {path}: folder {folder} is not writable")


def _write_atomically(path: str, data: bytes):
    part = f"{path}.part"
    with open(part, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)
