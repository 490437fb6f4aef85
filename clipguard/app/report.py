"""The demo's HTML report: every clip's verdict, reasons and sampled frames in one page."""

from __future__ import annotations

import base64
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from clipguard.core.config import MediaLimits
from media.sampling import MediaError, sample_frames, thumbnail_jpeg

THUMB_WIDTH = 160


def thumbnails(path: Path, limits: MediaLimits) -> list[dict]:
    """The frames the gate sampled, as data-URI JPEGs, re-sampled with the gate's own sampler."""
    try:
        clip = sample_frames(path, limits)
    except MediaError:
        return []
    out = []
    for frame in clip.frames:
        jpeg = thumbnail_jpeg(frame.rgb, THUMB_WIDTH)
        out.append({"index": frame.index, "t": frame.t, "cut": frame.cut,
                    "src": "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()})
    return out


def write_report(out: Path, decisions: dict[str, dict], dead: list[dict], media: dict[str, Path],
                 limits: MediaLimits) -> Path:
    env = Environment(loader=PackageLoader("clipguard.app"), autoescape=select_autoescape())
    clips = []
    for clip_id, decision in sorted(decisions.items()):
        flagged = {r["evidence"].get("frame") for r in decision["reasons"]}
        frames = thumbnails(media[clip_id], limits) if clip_id in media else []
        clips.append({"decision": decision, "frames": frames, "flagged": flagged})
    out.write_text(env.get_template("report.html").render(clips=clips, dead=dead))
    return out
