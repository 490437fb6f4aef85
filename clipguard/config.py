"""One place that reads the environment. Everything else takes a `Settings`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

TOPIC_CLIPS = "clips.generated"
TOPIC_DECISIONS = "moderation.decisions"
TOPIC_DEADLETTER = "moderation.deadletter"
TOPICS = (TOPIC_CLIPS, TOPIC_DECISIONS, TOPIC_DEADLETTER)
GATE_GROUP = "clipguard-gate"


@dataclass(frozen=True)
class MediaLimits:
    """Bounds that keep one hostile clip from taking the gate down."""

    max_bytes: int = 512 << 20
    max_duration_s: float = 600.0
    max_pixels: int = 4096 * 2160
    sample_fps: float = 1.0
    max_frames: int = 16
    scene_cut_threshold: float = 40.0  # mean |ΔY| on a 0-255 scale between consecutive frames
    frame_max_side: int = 512
    # Skip decoding frames nothing references (mostly B-frames). Roughly halves decode time; a cut
    # that lands on a skipped frame is seen on the next decoded one, a few frames later.
    reference_frames_only: bool = True


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    kafka_bootstrap: str
    media_roots: tuple[Path, ...]
    media: MediaLimits = field(default_factory=MediaLimits)

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("CLIPGUARD_HOME", ".clipguard")).absolute()
        roots = os.environ.get("CLIPGUARD_MEDIA_ROOTS", str(home / "media"))
        return cls(
            home=home,
            database_url=os.environ.get("CLIPGUARD_DATABASE_URL", f"sqlite:///{home / 'clipguard.db'}"),
            kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
            media_roots=tuple(Path(r).absolute() for r in roots.split(":") if r),
        )

    def ensure_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
