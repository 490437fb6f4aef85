"""The CLIP embedding method, on a tiny random-weight CLIP saved to disk, so the real loading,
intake, index, zero-shot and policy code runs without any downloaded weights."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from classifiers.character.embeddings import ClipEmbedder
from classifiers.character.handler import Catalog, CharacterHandler
from classifiers.character.reference_index import Reference
from classifiers.character.rule import character_rule
from clipguard.core.config import MediaLimits, Settings
from clipguard.core.contracts import ClipGenerated
from clipguard.core.signals import ClipInput
from fixtures.clips import image, png_file
from media.sampling import Frame, SampledClip
from registry.claims import ClaimStore
from registry.db import engine_for
from tests.conftest import clipguard
from usecases.policy_files import load_policy
from usecases.references import build_references


def _byte_characters() -> list[str]:
    """GPT-2's byte-to-unicode table, which CLIP's byte-level BPE vocabulary is written in."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = [b for b in range(256) if b not in printable]
    return [chr(c) for c in printable] + [chr(256 + i) for i in range(len(extra))]


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    folder = tmp_path_factory.mktemp("tiny-clip")
    chars = _byte_characters()
    vocab = {token: i for i, token in enumerate([*chars, *(c + "</w>" for c in chars),
                                                 "<|startoftext|>", "<|endoftext|>"])}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(vocab_file=str(folder / "vocab.json"), merges_file=str(folder / "merges.txt"))
    tower = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    config = CLIPConfig(text_config={**tower, "vocab_size": len(vocab), "max_position_embeddings": 77,
                                     "bos_token_id": vocab["<|startoftext|>"], "eos_token_id": vocab["<|endoftext|>"]},
                        vision_config={**tower, "image_size": 32, "patch_size": 8}, projection_dim=16)
    CLIPModel(config).save_pretrained(folder)
    CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
                  tokenizer=tokenizer).save_pretrained(folder)
    return folder


def test_the_embedder_loads_offline_and_names_its_weights(tiny_clip: Path):
    embedder = ClipEmbedder(tiny_clip, device="cpu")
    vectors = embedder.images([image("chelsea"), image("coffee")])
    assert vectors.shape == (2, 16) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert embedder.texts(["a picture of a cat"]).shape == (1, 16)
    assert 0 <= embedder.zero_shot(vectors[0], "Chelsea") <= 1
    assert embedder.version.startswith("clip-16d/sha256:")


def test_claims_carry_embeddings_and_the_gate_reports_clip_findings(tiny_clip: Path):
    embedder = ClipEmbedder(tiny_clip, device="cpu")
    [ref] = build_references([png_file("cat.png", "chelsea")], MediaLimits(), embedder)
    assert ref.embedding_model == embedder.version and len(ref.embedding) == 16 * 4
    record = Reference("ref", "claim", "Chelsea", "block", "0" * 64, "0" * 16, None, ref.embedding,
                             ref.embedding_model)
    handler = CharacterHandler(lambda: Catalog([record]), clip_model_dir=tiny_clip)
    model = handler.load_model()
    cat = image("chelsea")
    clip = SampledClip((Frame(0, 0.0, False, cat),), 1.0, cat.shape[1], cat.shape[0], 1)
    event = ClipGenerated("c", "alice", "file:///m.mp4", "2026-11-21T10:00:00Z")
    signal = handler.score(model, [ClipInput(event, clip)])[0]
    assert signal.model == "pdq+phash+orb+alias+clip" and embedder.version in signal.model_version
    [finding] = [f for f in signal.findings if f.evidence["method"] == "clip"]
    assert finding.evidence["similarity"] > 0.99     # the very picture the reference was made from
    policy = load_policy()
    ruled = character_rule(replace(signal, findings=(finding,)), policy.signals["character"], policy.label, {})
    bar = policy.signals["character"]["clip"]["min_zero_shot"]
    assert [v for v, _ in ruled] == ["block" if finding.evidence["zero_shot"] >= bar else "review"]


def test_references_made_with_other_weights_are_not_compared(tiny_clip: Path):
    embedder = ClipEmbedder(tiny_clip, device="cpu")
    [ref] = build_references([png_file("cat.png", "chelsea")], MediaLimits(), embedder)
    record = Reference("ref", "claim", "Chelsea", "block", "0" * 64, "0" * 16, None, ref.embedding,
                             "clip-16d/sha256:someotherweights")
    handler = CharacterHandler(lambda: Catalog([record]), clip_model_dir=tiny_clip)
    assert len(handler.load_model().current().embeddings) == 0


def test_the_claims_cli_embeds_references_when_clip_is_configured(settings: Settings, tiny_clip: Path,
                                                                    tmp_path: Path):
    cat = tmp_path / "cat.png"
    cat.write_bytes(png_file("cat.png", "chelsea").data)
    configured = replace(settings, clip_model_dir=tiny_clip)
    filed = clipguard(["claims", "add", "--holder", "studio", "--title", "Chelsea", "--reference", str(cat)],
                      configured, timeout=180)
    assert filed.returncode == 0, filed.stderr
    [reference] = ClaimStore(engine_for(settings.database_url)).active_references()
    assert reference.embedding and reference.embedding_model.startswith("clip-16d/")
    missing = replace(settings, clip_model_dir=tmp_path / "no-such-dir")
    refused = clipguard(["claims", "list"], missing, timeout=60)
    assert refused.returncode == 2 and "CLIPGUARD_CLIP_MODEL_DIR" in refused.stderr
