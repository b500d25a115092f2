"""The returned weights in torchvision's VisionTransformer.

torchvision is the one ViT implementation Debian packages; the service's
files keep timm's names, mapped here. torchvision's patch projection takes
3 channels: it is replaced by one for the bank's channel count.

    import wave_init.torchvision
    model = wave_init.torchvision.vision_transformer(result)  # strict load
"""
import json
import re

import torch
import torchvision

_BLOCK = re.compile(r"blocks\.(\d+)\.(.+)")
_IN_BLOCK = {
    "norm1": "ln_1", "norm2": "ln_2", "attn.qkv.weight": "self_attention.in_proj_weight",
    "attn.qkv.bias": "self_attention.in_proj_bias", "attn.proj": "self_attention.out_proj",
    "mlp.fc1": "mlp.0", "mlp.fc2": "mlp.3",
}
_TOP = {"cls_token": "class_token", "pos_embed": "encoder.pos_embedding",
        "patch_embed.proj": "conv_proj", "norm": "encoder.ln", "head": "heads.head"}


def _rename(name: str, table: dict) -> str:
    for timm, tv in table.items():
        if name == timm or name.startswith(timm + "."):
            return tv + name[len(timm):]
    raise KeyError(f"no torchvision name for '{name}'")


def torchvision_name(timm_name: str) -> str:
    """blocks.3.attn.qkv.weight -> encoder.layers.encoder_layer_3.self_attention.in_proj_weight"""
    m = _BLOCK.fullmatch(timm_name)
    if m:
        return f"encoder.layers.encoder_layer_{m.group(1)}.{_rename(m.group(2), _IN_BLOCK)}"
    return _rename(timm_name, _TOP)


_TV_BLOCK = re.compile(r"encoder\.layers\.encoder_layer_(\d+)\.(.+)")


def timm_name(torchvision_name_: str) -> str:
    """The inverse of torchvision_name: a torchvision VisionTransformer's
    state-dict name as timm's (so a model trained in torchvision can be a
    bank's ancestry, `wave-learn --ancestry_in`)."""
    m = _TV_BLOCK.fullmatch(torchvision_name_)
    if m:
        inverse = {tv: timm for timm, tv in _IN_BLOCK.items()}
        return f"blocks.{m.group(1)}.{_rename(m.group(2), inverse)}"
    return _rename(torchvision_name_, {tv: timm for timm, tv in _TOP.items()})


def vision_transformer(result=None, *, weights=None, model_args=None,
                       dtype=torch.float32) -> torchvision.models.VisionTransformer:
    """A torchvision VisionTransformer of the returned size with the returned
    weights loaded (strict). Pass a Result, or weights (timm names) and
    model_args (the file's wave.model_args metadata, a dict or JSON)."""
    if result is not None:
        weights = result.weights
        model_args = result.metadata["wave.model_args"]
    if isinstance(model_args, str):
        model_args = json.loads(model_args)
    a = model_args
    width = a["embed_dim"]
    model = torchvision.models.VisionTransformer(
        image_size=a["img_size"], patch_size=a["patch_size"], num_layers=a["depth"],
        num_heads=a["num_heads"], hidden_dim=width, mlp_dim=int(width * a["mlp_ratio"]),
        num_classes=a["num_classes"])
    model.conv_proj = torch.nn.Conv2d(a["in_chans"], width, kernel_size=a["patch_size"],
                                      stride=a["patch_size"])
    state = {torchvision_name(k): torch.as_tensor(v).to(dtype) for k, v in weights.items()}
    model.load_state_dict(state, strict=True)
    return model.to(dtype).eval()


def preprocess(images, result) -> torch.Tensor:
    """uint8 images ([N, C, H, W] or [N, H, W]) of the bank's shape as the
    service fits on them: scaled to [0, 1], then normalized by the bank's
    per-channel mean and std."""
    x = torch.as_tensor(images)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    mean = torch.tensor(result.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(result.std, dtype=torch.float32).view(1, -1, 1, 1)
    return (x.float() / 255.0 - mean) / std
