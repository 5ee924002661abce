"""Random-weight checkpoints of real architectures, written to a folder like a hub download.

No weights can be downloaded here, so tests build a few-kilobyte model of the real class
(``full=False``) and the GPU benchmark builds the published full-size architecture
(``full=True``: configs below, copied from the checkpoints' config.json), each saved with a
processor and a small word-level tokenizer made on the spot, then loaded back through the
backends' public ``from_pretrained`` path. Builders are deterministic (fixed seed) and
return the folder they wrote. Needs the ``hf`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FAMILIES = ("paligemma", "idefics3", "qwen2_vl")

# Words the tiny tokenizers know; anything else becomes <unk>. Labels used by the tests are here.
WORDS = (
    "a photo of the an this that is in on what describe image picture answer question "
    "cat dog car red blue truck person bird street empty parked busy there one two "
    "yes no user assistant system caption en"
).split() + list(".,:?!'\"-")

# Idefics3's processor looks these up even when it does not split images.
_IDEFICS3_TOKENS = ["<fake_token_around_image>", "<image>", "<global-img>", "<end_of_utterance>"] + [
    f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)]
_QWEN_TOKENS = ["<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|image_pad|>", "<|video_pad|>", "<|endoftext|>"]

# Minimal versions of the families' own chat templates (same turn markers and generation prompt).
IDEFICS3_CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{ line['text'] }}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}"
    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)
QWEN2_VL_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for content in message['content'] %}{% if content['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'text' %}"
    "{{ content['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _tokenizer(specials: list[str], *, bos: str | None, eos: str, pad: str,
               add_bos_eos: bool = False):
    """A word-level fast tokenizer: one id per known word or punctuation mark."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    names = ["<pad>", "<unk>", "<bos>", "<eos>"] + [s for s in specials if s not in
                                                   ("<pad>", "<unk>", "<bos>", "<eos>")]
    vocab = {tok: i for i, tok in enumerate(names + WORDS)}
    tok = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces, no prefix in use
    if add_bos_eos:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A {eos}", special_tokens=[(bos, vocab[bos]), (eos, vocab[eos])])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token=pad,
                                   eos_token=eos, bos_token=bos)
    if names[4:]:
        fast.add_special_tokens({"additional_special_tokens": names[4:]})
    return fast



# Tiny sizes: every tower 2 layers of width 32, 32 px images in 8 px patches.
_TINY_VISION = dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=37,
                    num_hidden_layers=2, num_attention_heads=4)
_TINY_TEXT = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2)

# Published architectures (vision, text) of google/siglip-base-patch16-224,
# google/paligemma-3b-pt-448, HuggingFaceTB/SmolVLM-500M-Instruct, Qwen/Qwen2-VL-2B-Instruct.
FULL = {
    "siglip": (dict(image_size=224, patch_size=16, hidden_size=768, intermediate_size=3072,
                    num_hidden_layers=12, num_attention_heads=12),
               dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                    num_attention_heads=12, max_position_embeddings=64)),
    "paligemma": (dict(image_size=448, patch_size=14, hidden_size=1152, intermediate_size=4304,
                       num_hidden_layers=27, num_attention_heads=16, projection_dim=2048),
                  dict(hidden_size=2048, intermediate_size=16384, num_hidden_layers=18,
                       num_attention_heads=8, num_key_value_heads=1, head_dim=256,
                       vocab_size=257216)),
    "idefics3": (dict(image_size=512, patch_size=16, hidden_size=768, intermediate_size=3072,
                      num_hidden_layers=12, num_attention_heads=12),
                 dict(hidden_size=960, intermediate_size=2560, num_hidden_layers=32,
                      num_attention_heads=15, num_key_value_heads=5, vocab_size=49280,
                      rope_theta=100000.0, max_position_embeddings=8192)),
    "qwen2_vl": (dict(depth=32, embed_dim=1280, hidden_size=1536, num_heads=16, mlp_ratio=4,
                      patch_size=14, spatial_merge_size=2, temporal_patch_size=2),
                 dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                      num_attention_heads=12, num_key_value_heads=2, vocab_size=151936,
                      rope_theta=1000000.0, max_position_embeddings=32768,
                      tie_word_embeddings=True)),
}


def _seed() -> None:
    import torch

    torch.manual_seed(0)


def _save(model_cls: Any, cfg: Any, out: Path, full: bool) -> None:
    """Full-size models are built in bf16 on the GPU when there is one (faster, half the disk)."""
    import torch

    _seed()
    device = "cuda" if full and torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if full else torch.float32
    with torch.device(device):
        model = model_cls(cfg).to(dtype).eval()
    model.save_pretrained(out)


def build_clip(directory: str | Path) -> Path:
    """A tiny CLIP (ViT) dual encoder: softmax over labels with logit_scale."""
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    out = Path(directory)
    tok = _tokenizer([], bos="<bos>", eos="<eos>", pad="<eos>", add_bos_eos=True)
    cfg = CLIPConfig(
        text_config=dict(_TINY_TEXT, vocab_size=len(tok), max_position_embeddings=32,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id),
        vision_config=_TINY_VISION, projection_dim=16)
    _save(CLIPModel, cfg, out, full=False)
    ip = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPProcessor(image_processor=ip, tokenizer=tok).save_pretrained(out)
    return out


def build_siglip(directory: str | Path, full: bool = False) -> Path:
    """A SigLIP dual encoder: sigmoid per label with logit_scale and logit_bias; texts padded
    to ``max_position_embeddings`` as SigLIP was trained."""
    from transformers import SiglipConfig, SiglipModel, SiglipProcessor
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    out = Path(directory)
    tok = _tokenizer([], bos=None, eos="<eos>", pad="<pad>")
    vision, text = FULL["siglip"] if full else (_TINY_VISION, dict(_TINY_TEXT,
                                                                  max_position_embeddings=16))
    text = {k: v for k, v in text.items() if k != "num_key_value_heads"}
    cfg = SiglipConfig(text_config=dict(text, vocab_size=32000 if full else len(tok),
                                        bos_token_id=tok.eos_token_id,
                                        pad_token_id=tok.pad_token_id,
                                        eos_token_id=tok.eos_token_id),
                       vision_config=vision)
    _save(SiglipModel, cfg, out, full)
    side = vision["image_size"]
    ip = SiglipImageProcessorPil(size={"height": side, "width": side})
    SiglipProcessor(image_processor=ip, tokenizer=tok).save_pretrained(out)
    return out


def build_vlm(directory: str | Path, family: str, full: bool = False) -> Path:
    """A generative VLM of ``family`` (paligemma, idefics3 or qwen2_vl), processor included."""
    builders = {"paligemma": _paligemma, "idefics3": _idefics3, "qwen2_vl": _qwen2_vl}
    if family not in builders:
        raise ValueError(f"unknown family {family!r}; choose one of {sorted(builders)}")
    out = Path(directory)
    builders[family](out, full)
    return out


def _sizes(family: str, full: bool, vocab: int) -> tuple[dict[str, Any], dict[str, Any]]:
    if full:
        vision, text = FULL[family]
        return dict(vision), dict(text)
    return dict(_TINY_VISION), dict(_TINY_TEXT, vocab_size=vocab)


def _paligemma(out: Path, full: bool) -> None:
    from transformers import PaliGemmaConfig, PaliGemmaForConditionalGeneration, PaliGemmaProcessor
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    tok = _tokenizer(["<image>"], bos="<bos>", eos="<eos>", pad="<pad>")
    proc_vocab = len(tok) + 1024 + 128  # the processor adds <locXXXX> and <segXXX> tokens
    vision, text = _sizes("paligemma", full, proc_vocab)
    vision.setdefault("projection_dim", 32)
    text.setdefault("head_dim", 8)
    side = vision["image_size"]
    ip = SiglipImageProcessorPil(size={"height": side, "width": side})
    ip.image_seq_length = (side // vision["patch_size"]) ** 2
    proc = PaliGemmaProcessor(image_processor=ip, tokenizer=tok)
    cfg = PaliGemmaConfig(
        vision_config=vision,
        text_config=dict(text, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id, model_type="gemma"),
        projection_dim=vision["projection_dim"],
        image_token_id=proc.tokenizer.convert_tokens_to_ids("<image>"))
    _save(PaliGemmaForConditionalGeneration, cfg, out, full)
    proc.save_pretrained(out)


def _idefics3(out: Path, full: bool) -> None:
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    tok = _tokenizer(_IDEFICS3_TOKENS, bos="<bos>", eos="<end_of_utterance>", pad="<pad>")
    vision, text = _sizes("idefics3", full, len(tok))
    side, scale = vision["image_size"], 4 if full else 2
    ip = Idefics3ImageProcessorPil(size={"longest_edge": side},
                                   max_image_size={"longest_edge": side},
                                   do_image_splitting=False)
    proc = Idefics3Processor(image_processor=ip, tokenizer=tok,
                             image_seq_len=(side // vision["patch_size"]) ** 2 // scale ** 2,
                             chat_template=IDEFICS3_CHAT_TEMPLATE)
    cfg = Idefics3Config(
        vision_config=vision,
        text_config=dict(text, model_type="llama", bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id),
        scale_factor=scale, image_token_id=proc.tokenizer.convert_tokens_to_ids("<image>"),
        pad_token_id=tok.pad_token_id)
    _save(Idefics3ForConditionalGeneration, cfg, out, full)
    proc.save_pretrained(out)


def _qwen2_vl(out: Path, full: bool) -> None:
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )
    from transformers.utils import is_torchvision_available

    from vlmstream.backends._hf import without_video

    tok = _tokenizer(_QWEN_TOKENS, bos=None, eos="<|im_end|>", pad="<|endoftext|>")
    ids = tok.convert_tokens_to_ids
    if full:
        vision, text = _sizes("qwen2_vl", True, 0)
        mrope, pixels = [16, 24, 24], 448 * 448  # ~256 visual tokens per frame
    else:
        vision = dict(depth=2, embed_dim=32, hidden_size=32, num_heads=4, mlp_ratio=2,
                      patch_size=4, spatial_merge_size=2, temporal_patch_size=2)
        text = dict(_TINY_TEXT, vocab_size=len(tok))
        mrope, pixels = [1, 1, 2], 32 * 32
    ip = Qwen2VLImageProcessorPil(patch_size=vision["patch_size"], merge_size=2,
                                  temporal_patch_size=2, min_pixels=pixels, max_pixels=pixels)
    proc_cls = Qwen2VLProcessor if is_torchvision_available() else without_video(Qwen2VLProcessor)
    proc = proc_cls(image_processor=ip, tokenizer=tok, chat_template=QWEN2_VL_CHAT_TEMPLATE)
    rope = {"rope_type": "default", "mrope_section": mrope,
            "rope_theta": text.pop("rope_theta", 10000.0)}
    cfg = Qwen2VLConfig(
        text_config=dict(text, eos_token_id=ids("<|im_end|>"), bos_token_id=None,
                         pad_token_id=tok.pad_token_id, rope_parameters=rope),
        vision_config=dict(vision, in_channels=3),
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"))
    _save(Qwen2VLForConditionalGeneration, cfg, out, full)
    proc.save_pretrained(out)
