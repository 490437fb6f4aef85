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
# The Flink master that means a Flink inside Beam's job server, rather than a cluster's JobManager.
LOCAL_FLINK = "[local]"


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
    # Slice threads, not frame threads: frame threading buffers frames across threads, which costs
    # more than it saves when most frames are skipped (`clipguard bench` measures both).
    decode_threads: str = "SLICE"
    # A file built to decode slowly (or to hold timestamps still while frames pile up) is cut off:
    # checked between frames, so one clip costs at most about this long.
    decode_deadline_s: float = 30.0


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    kafka_bootstrap: str
    media_roots: tuple[Path, ...]
    media: MediaLimits = field(default_factory=MediaLimits)
    # The explicit signal's production backend: a transformers model directory and its
    # "explicit" label. None: the embedded open_nsfw model.
    explicit_model_dir: Path | None = None
    explicit_label: str = "nsfw"
    # CLIP weights for the character signal's embedding method; None: hashes, ORB and aliases only.
    clip_model_dir: Path | None = None
    # insightface weights (a folder of detection and recognition ONNX files) for the face signal;
    # None: the embedded dlib models.
    face_model_dir: Path | None = None
    # Thumbnails of the sampled frames are kept for clips decided with these verdicts, so an
    # analyst can see them, and deleted after the retention period.
    keep_frames_for: tuple[str, ...] = ("review", "block")
    frame_retention_days: float = 30.0
    # Every gate decision's inputs (and the shadow policies' decisions) are kept this long, for
    # backtests of a candidate policy over the weeks before it.
    input_retention_days: float = 90.0
    # The operator's C2PA signing key and its certificate chain (PEM files), for signed decisions
    # (docs/provenance.md); None: nothing is signed. Copies signed with them go under
    # `signed_root`. A timestamp authority is asked only when its URL is set.
    signing_key: Path | None = None
    signing_certs: Path | None = None
    signing_tsa_url: str | None = None
    signed_root: Path | None = None

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("CLIPGUARD_HOME", ".clipguard")).absolute()
        roots = os.environ.get("CLIPGUARD_MEDIA_ROOTS", str(home / "media"))
        defaults = MediaLimits()
        return cls(
            home=home,
            database_url=os.environ.get("CLIPGUARD_DATABASE_URL", f"sqlite:///{home / 'clipguard.db'}"),
            kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
            media_roots=tuple(Path(r).absolute() for r in roots.split(":") if r),
            media=MediaLimits(
                sample_fps=_positive("CLIPGUARD_SAMPLE_FPS", float, defaults.sample_fps),
                max_frames=_positive("CLIPGUARD_MAX_FRAMES", int, defaults.max_frames),
            ),
            explicit_model_dir=_model_dir("CLIPGUARD_EXPLICIT_MODEL_DIR"),
            explicit_label=os.environ.get("CLIPGUARD_EXPLICIT_LABEL", "nsfw"),
            clip_model_dir=_model_dir("CLIPGUARD_CLIP_MODEL_DIR"),
            face_model_dir=_model_dir("CLIPGUARD_FACE_MODEL_DIR"),
            keep_frames_for=_verdicts("CLIPGUARD_KEEP_FRAMES_FOR", ("review", "block")),
            frame_retention_days=_positive("CLIPGUARD_FRAME_RETENTION_DAYS", float, 30.0),
            input_retention_days=_positive("CLIPGUARD_INPUT_RETENTION_DAYS", float, 90.0),
            signing_key=_file("CLIPGUARD_SIGNING_KEY"),
            signing_certs=_file("CLIPGUARD_SIGNING_CERTS"),
            signing_tsa_url=os.environ.get("CLIPGUARD_SIGNING_TSA_URL") or None,
            signed_root=_path("CLIPGUARD_SIGNED_ROOT"),
        )

    def to_env(self) -> dict[str, str]:
        """The process environment that makes a child `clipguard` use these settings."""
        return {**os.environ, "CLIPGUARD_HOME": str(self.home), "CLIPGUARD_DATABASE_URL": self.database_url,
                "KAFKA_BOOTSTRAP": self.kafka_bootstrap,
                "CLIPGUARD_MEDIA_ROOTS": ":".join(str(r) for r in self.media_roots),
                "CLIPGUARD_SAMPLE_FPS": str(self.media.sample_fps), "CLIPGUARD_MAX_FRAMES": str(self.media.max_frames),
                "CLIPGUARD_EXPLICIT_MODEL_DIR": str(self.explicit_model_dir or ""),
                "CLIPGUARD_EXPLICIT_LABEL": self.explicit_label,
                "CLIPGUARD_CLIP_MODEL_DIR": str(self.clip_model_dir or ""),
                "CLIPGUARD_FACE_MODEL_DIR": str(self.face_model_dir or ""),
                "CLIPGUARD_KEEP_FRAMES_FOR": ",".join(self.keep_frames_for),
                "CLIPGUARD_FRAME_RETENTION_DAYS": str(self.frame_retention_days),
                "CLIPGUARD_INPUT_RETENTION_DAYS": str(self.input_retention_days),
                "CLIPGUARD_SIGNING_KEY": str(self.signing_key or ""),
                "CLIPGUARD_SIGNING_CERTS": str(self.signing_certs or ""),
                "CLIPGUARD_SIGNING_TSA_URL": self.signing_tsa_url or "",
                "CLIPGUARD_SIGNED_ROOT": str(self.signed_root or "")}

    @property
    def signed_folder(self) -> Path:
        """Where signed copies of clips go: the configured root, else the home's signed/."""
        return self.signed_root or self.home / "signed"

    def ensure_home(self) -> None:
        """The home holds the registry, evidence frames and Data Docs: its owner's only."""
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.home.chmod(0o700)


def _model_dir(name: str) -> Path | None:
    raw = os.environ.get(name)
    if not raw:
        return None
    if not Path(raw).is_dir():
        raise ValueError(f"{name}={raw} is not a directory of model weights")
    return Path(raw).absolute()


def _path(name: str) -> Path | None:
    raw = os.environ.get(name)
    return Path(raw).absolute() if raw else None


def _file(name: str) -> Path | None:
    path = _path(name)
    if path is not None and not path.is_file():
        raise ValueError(f"{name}={path} is not a file")
    return path


def _positive(name: str, kind: type, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = 0
    if not value > 0:
        raise ValueError(f"{name} must be a positive {kind.__name__}, got {raw!r}")
    return value


def _verdicts(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    chosen = tuple(v.strip() for v in raw.split(",") if v.strip())
    unknown = sorted(set(chosen) - {"allow", "review", "block", "takedown"})
    if unknown:
        raise ValueError(f"{name} names unknown verdict(s) {', '.join(unknown)}; use allow, review, block, takedown")
    return chosen
