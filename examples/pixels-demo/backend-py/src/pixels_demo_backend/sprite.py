"""Deterministic pixel-art sprites and their PNG encoding.

The stand-in generator does no machine learning: every prompt maps to a fixed 16×16 sprite
(mirrored left to right, denser towards the middle, outlined in a dark shade, like a hand-drawn
game character), scaled up with nearest-neighbour to the requested size. Previews taken part
way through sampling show the sprite through deterministic noise, as a diffusion preview would.

Encoding is CPU work (a few milliseconds for 64×64, more for 1024×1024): async callers run
:func:`write_sprite_png` through ``CallContext.run_sync`` so the event loop keeps answering
heartbeats.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import os
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

__all__ = [
    "PNG_SIGNATURE",
    "SPRITE_GRID",
    "Rgba",
    "Sprite",
    "create_sprite",
    "encode_sprite_png",
    "write_sprite_png",
]

SPRITE_GRID = 16
"""Cells per side of the sprite grid; the image is this grid scaled up with nearest-neighbour."""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
"""The eight bytes every PNG file starts with."""

Rgba = tuple[int, int, int, int]
"""One colour: red, green, blue and alpha, 0..255 each."""

# Palette indices of the cells.
_BACKGROUND = 0
_OUTLINE = 1
_BODY_SHADES = (2, 3, 4)
# How often each body shade is picked: mostly the base colour, some highlight, a little accent.
_SHADE_WEIGHTS = (6, 3, 1)


@dataclass(frozen=True)
class Sprite:
    """One sprite: a :data:`SPRITE_GRID`² grid of palette indices and its palette."""

    cells: bytes
    """Row-major palette indices, ``SPRITE_GRID * SPRITE_GRID`` long; 0 is the background."""
    palette: tuple[Rgba, ...]
    """Index 0 background, 1 outline, 2 body, 3 highlight, 4 accent."""
    seed: int
    """Seeds the noise of previews, so they are deterministic too."""


def create_sprite(seed_text: str) -> Sprite:
    """Derives a sprite from ``seed_text`` (e.g. model, LoRA and prompt).

    The same text always gives the same sprite, in every process and on every platform: the
    randomness comes from the text's SHA-256 digest through a seeded :class:`random.Random`.
    """
    digest = hashlib.sha256(seed_text.encode("utf-8")).digest()
    seed = int.from_bytes(digest[:8], "little")
    rng = random.Random(seed)
    hue = int.from_bytes(digest[8:10], "little") % 360
    palette = (
        _hsl(hue, 0.20, 0.14),  # background: a dark, dull version of the body colour
        _hsl(hue, 0.35, 0.05),  # outline: darker still
        _hsl(hue, 0.60, 0.48),  # body
        _hsl(hue + 30, 0.70, 0.64),  # highlight: a lighter neighbour hue
        _hsl(hue + 180, 0.72, 0.56),  # accent: the complementary hue
    )

    n = SPRITE_GRID
    centre = (n - 1) / 2
    body = bytearray(n * n)
    # Decide the left half (inside a one-cell margin, so the outline fits) and mirror it.
    for y in range(1, n - 1):
        for x in range(1, n // 2):
            from_axis = (centre - x) / centre  # ~0 next to the mirror axis, ~1 at the edge
            from_middle = abs(y - centre) / centre  # 0 in the middle row, ~1 at top and bottom
            if rng.random() < 0.95 - 0.9 * from_axis - 0.45 * from_middle:
                shade = rng.choices(_BODY_SHADES, weights=_SHADE_WEIGHTS)[0]
                body[y * n + x] = shade
                body[y * n + (n - 1 - x)] = shade

    cells = bytearray(body)
    for y in range(n):
        for x in range(n):
            if body[y * n + x] != _BACKGROUND:
                continue
            neighbours = ((x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1))
            if any(0 <= nx < n and 0 <= ny < n and body[ny * n + nx] for nx, ny in neighbours):
                cells[y * n + x] = _OUTLINE
    return Sprite(cells=bytes(cells), palette=palette, seed=seed)


def encode_sprite_png(sprite: Sprite, width: int, height: int, reveal: float = 1.0) -> bytes:
    """Encodes ``sprite`` as an RGBA PNG of ``width`` × ``height`` pixels.

    With ``reveal`` below 1 (a preview taken part way through sampling), each cell shows the
    sprite with that probability and deterministic noise otherwise; the same sprite and reveal
    always give the same bytes.

    :param width: image width in pixels, >= 1
    :param height: image height in pixels, >= 1
    :param reveal: fraction of the sampler's steps done, 0..1; default 1 (the final image)
    :raises ValueError: when a side is below 1
    """
    if width < 1 or height < 1:
        raise ValueError(f"image size {width}x{height} must be at least 1x1 pixels")
    noise = random.Random(sprite.seed ^ round(reveal * 1000))
    grid = bytearray()
    for index in sprite.cells:
        clean = sprite.palette[index]
        if reveal >= 1 or noise.random() < reveal:
            grid.extend(clean)
        else:
            # Noise that keeps a trace of the sprite's colour in the green channel.
            red, green, blue = (noise.randrange(256) for _ in range(3))
            grid.extend((red, (green + clean[1]) // 2, blue, 255))
    small = Image.frombytes("RGBA", (SPRITE_GRID, SPRITE_GRID), bytes(grid))
    image = small.resize((width, height), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def write_sprite_png(
    path: Path, sprite: Sprite, width: int, height: int, reveal: float = 1.0
) -> None:
    """Encodes ``sprite`` (see :func:`encode_sprite_png`) and writes it to ``path`` atomically.

    Blocking: encodes on the calling thread and writes the file. The data goes to a temporary
    name next to ``path`` first and is renamed over it, so a reader never sees half an image;
    the temporary file is removed when writing fails.

    :raises OSError: when the file cannot be written
    """
    data = encode_sprite_png(sprite, width, height, reveal)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _hsl(hue_deg: float, saturation: float, lightness: float) -> Rgba:
    """An opaque colour from a hue in degrees (any value, taken modulo 360) and 0..1 fractions.

    Note the argument order differs from :func:`colorsys.hls_to_rgb` (hue, lightness, saturation):
    this one takes the CSS ``hsl()`` order, hue, saturation, lightness.
    """
    r, g, b = colorsys.hls_to_rgb((hue_deg % 360) / 360, lightness, saturation)
    return (round(r * 255), round(g * 255), round(b * 255), 255)
