"""Tiny random checkpoints of real architectures, written to a folder like a hub download.

No weights can be downloaded here, so tests (and the engine's end-to-end CLI test) build a
few-kilobyte model of the real class from a config, save it with a processor and a word-level
tokenizer made on the spot, and load it back through the public ``from_pretrained`` path.
Every builder is deterministic (fixed seed) and returns the folder it wrote.
"""

from __future__ import annotations

from pathlib import Path

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


def _seed() -> None:
    import torch

    torch.manual_seed(0)


def _vision(**extra):
    return dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=37,
                num_hidden_layers=2, num_attention_heads=4, **extra)


def _text(vocab_size: int, **extra):
    return dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                num_attention_heads=4, **extra)


def build_tiny_clip(directory: str | Path) -> Path:
    """A CLIP (ViT) dual encoder: 32 px images, softmax over labels with logit_scale."""
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    out = Path(directory)
    tok = _tokenizer([], bos="<bos>", eos="<eos>", pad="<eos>", add_bos_eos=True)
    cfg = CLIPConfig(
        text_config=_text(len(tok), max_position_embeddings=32, bos_token_id=tok.bos_token_id,
                          eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id),
        vision_config=_vision(), projection_dim=16)
    _seed()
    CLIPModel(cfg).eval().save_pretrained(out)
    ip = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPProcessor(image_processor=ip, tokenizer=tok).save_pretrained(out)
    return out


def build_tiny_siglip(directory: str | Path) -> Path:
    """A SigLIP dual encoder: sigmoid per label with logit_scale and logit_bias; texts padded
    to ``max_position_embeddings`` as SigLIP was trained."""
    from transformers import SiglipConfig, SiglipModel, SiglipProcessor
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    out = Path(directory)
    tok = _tokenizer([], bos=None, eos="<eos>", pad="<pad>")
    cfg = SiglipConfig(text_config=_text(len(tok), max_position_embeddings=16,
                                         bos_token_id=tok.eos_token_id,
                                         pad_token_id=tok.pad_token_id,
                                         eos_token_id=tok.eos_token_id),
                       vision_config=_vision())
    _seed()
    SiglipModel(cfg).eval().save_pretrained(out)
    ip = SiglipImageProcessorPil(size={"height": 32, "width": 32})
    SiglipProcessor(image_processor=ip, tokenizer=tok).save_pretrained(out)
    return out


def build_tiny_vlm(directory: str | Path, family: str) -> Path:
    """A generative VLM of ``family`` (paligemma, idefics3 or qwen2_vl), processor included."""
    builders = {"paligemma": _paligemma, "idefics3": _idefics3, "qwen2_vl": _qwen2_vl}
    if family not in builders:
        raise ValueError(f"unknown family {family!r}; choose one of {sorted(builders)}")
    out = Path(directory)
    _seed()
    builders[family](out)
    return out


def _paligemma(out: Path) -> None:
    from transformers import PaliGemmaConfig, PaliGemmaForConditionalGeneration, PaliGemmaProcessor
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    tok = _tokenizer(["<image>"], bos="<bos>", eos="<eos>", pad="<pad>")
    ip = SiglipImageProcessorPil(size={"height": 32, "width": 32})
    ip.image_seq_length = 16  # (32 / 8) ** 2 patches
    proc = PaliGemmaProcessor(image_processor=ip, tokenizer=tok)  # adds <loc>/<seg> tokens
    vocab = len(proc.tokenizer)
    cfg = PaliGemmaConfig(
        vision_config=_vision(projection_dim=32),
        text_config=_text(vocab, num_key_value_heads=2, head_dim=8,
                          bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                          pad_token_id=tok.pad_token_id, model_type="gemma"),
        projection_dim=32, image_token_id=proc.tokenizer.convert_tokens_to_ids("<image>"))
    PaliGemmaForConditionalGeneration(cfg).eval().save_pretrained(out)
    proc.save_pretrained(out)


def _idefics3(out: Path) -> None:
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    tok = _tokenizer(_IDEFICS3_TOKENS, bos="<bos>", eos="<end_of_utterance>", pad="<pad>")
    ip = Idefics3ImageProcessorPil(size={"longest_edge": 32}, max_image_size={"longest_edge": 32},
                                   do_image_splitting=False)
    proc = Idefics3Processor(image_processor=ip, tokenizer=tok, image_seq_len=4,
                             chat_template=IDEFICS3_CHAT_TEMPLATE)
    cfg = Idefics3Config(
        vision_config=_vision(),
        text_config=_text(len(proc.tokenizer), num_key_value_heads=2, model_type="llama",
                          bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                          pad_token_id=tok.pad_token_id),
        scale_factor=2, image_token_id=proc.tokenizer.convert_tokens_to_ids("<image>"),
        pad_token_id=tok.pad_token_id)
    Idefics3ForConditionalGeneration(cfg).eval().save_pretrained(out)
    proc.save_pretrained(out)


def _qwen2_vl(out: Path) -> None:
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )
    from transformers.utils import is_torchvision_available

    from vlmstream.backends._hf import without_video

    tok = _tokenizer(_QWEN_TOKENS, bos=None, eos="<|im_end|>", pad="<|endoftext|>")
    ids = tok.convert_tokens_to_ids
    ip = Qwen2VLImageProcessorPil(patch_size=4, merge_size=2, temporal_patch_size=2,
                                  min_pixels=32 * 32, max_pixels=32 * 32)
    proc_cls = Qwen2VLProcessor if is_torchvision_available() else without_video(Qwen2VLProcessor)
    proc = proc_cls(image_processor=ip, tokenizer=tok, chat_template=QWEN2_VL_CHAT_TEMPLATE)
    cfg = Qwen2VLConfig(
        text_config=_text(len(tok), num_key_value_heads=2, eos_token_id=ids("<|im_end|>"),
                          bos_token_id=None,
                          pad_token_id=tok.pad_token_id,
                          rope_parameters={"rope_type": "default", "mrope_section": [1, 1, 2],
                                           "rope_theta": 10000.0}),
        vision_config=dict(depth=2, embed_dim=32, hidden_size=32, num_heads=4, mlp_ratio=2,
                           patch_size=4, spatial_merge_size=2, temporal_patch_size=2,
                           in_channels=3),
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"))
    Qwen2VLForConditionalGeneration(cfg).eval().save_pretrained(out)
    proc.save_pretrained(out)
