import { createHash } from "node:crypto";
import { PNG } from "pngjs";

/** Cells per side of the sprite grid; the image is this grid scaled up with nearest-neighbour. */
export const SPRITE_GRID = 16;

/** The eight bytes every PNG file starts with. */
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

type Rgba = readonly [number, number, number, number];

/** One sprite: a {@link SPRITE_GRID}² grid of palette indices (0 = background) and its palette. */
export interface Sprite {
  /** Row-major palette indices, `SPRITE_GRID * SPRITE_GRID` long. */
  readonly cells: Uint8Array;
  /** Index 0 background, 1 outline, 2..4 body shades. */
  readonly palette: readonly Rgba[];
  /** Seeds the noise of previews, so they are deterministic too. */
  readonly seed: number;
}

/**
 * Derives a sprite from `seedText` (e.g. the prompt): the same text always gives the same
 * sprite. The body is mirrored left to right and denser towards the centre, outlined in a dark
 * shade, like a hand-drawn 16×16 game character.
 */
export function createSprite(seedText: string): Sprite {
  const digest = createHash("sha256").update(seedText).digest();
  const seed = digest.readUInt32LE(0);
  const random = mulberry32(seed);
  const hue = digest.readUInt16LE(4) % 360;
  const palette: Rgba[] = [
    [...hslToRgb(hue, 0.25, 0.12), 255],
    [...hslToRgb(hue, 0.4, 0.06), 255],
    [...hslToRgb(hue, 0.65, 0.45), 255],
    [...hslToRgb((hue + 30) % 360, 0.7, 0.62), 255],
    [...hslToRgb((hue + 180) % 360, 0.75, 0.55), 255],
  ];
  const n = SPRITE_GRID;
  const body = new Uint8Array(n * n);
  const half = n / 2;
  // Fill the left half inside a 1-cell margin (so the outline fits), then mirror it.
  for (let y = 1; y < n - 1; y++) {
    for (let x = 1; x < half; x++) {
      const dx = (half - x) / half; // 0 at the centre column, ~1 at the edge
      const dy = Math.abs(y - n / 2) / (n / 2);
      const density = 0.95 - 0.9 * dx - 0.45 * dy;
      if (random() < density) {
        const r = random();
        const shade = r < 0.6 ? 2 : r < 0.9 ? 3 : 4;
        body[y * n + x] = shade;
        body[y * n + (n - 1 - x)] = shade;
      }
    }
  }
  const cells = new Uint8Array(body);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      if (body[y * n + x] !== 0) continue;
      const touchesBody =
        (x > 0 && body[y * n + x - 1] !== 0) ||
        (x < n - 1 && body[y * n + x + 1] !== 0) ||
        (y > 0 && body[(y - 1) * n + x] !== 0) ||
        (y < n - 1 && body[(y + 1) * n + x] !== 0);
      if (touchesBody) cells[y * n + x] = 1;
    }
  }
  return { cells, palette, seed };
}

/**
 * Encodes `sprite` as an RGBA PNG of `width`×`height` pixels. With `reveal` below 1 (a preview
 * taken part way through sampling), each cell shows the sprite with that probability and
 * deterministic noise otherwise, as a diffusion preview would.
 *
 * @param reveal fraction of the sampler's steps done, 0..1; default 1 (the final image)
 */
export function encodeSpritePng(sprite: Sprite, width: number, height: number, reveal = 1): Buffer {
  const n = SPRITE_GRID;
  const noise = mulberry32(sprite.seed ^ Math.round(reveal * 1000));
  const colours: Rgba[] = [];
  for (let i = 0; i < n * n; i++) {
    const clean = sprite.palette[sprite.cells[i] ?? 0] ?? sprite.palette[0]!;
    if (reveal >= 1 || noise() < reveal) {
      colours.push(clean);
    } else {
      const v = Math.floor(noise() * 256);
      colours.push([v, Math.floor((v + clean[1]) / 2), Math.floor(noise() * 256), 255]);
    }
  }
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    const cy = Math.min(n - 1, Math.floor((y * n) / height));
    for (let x = 0; x < width; x++) {
      const cx = Math.min(n - 1, Math.floor((x * n) / width));
      const c = colours[cy * n + cx]!;
      const o = (y * width + x) * 4;
      png.data[o] = c[0];
      png.data[o + 1] = c[1];
      png.data[o + 2] = c[2];
      png.data[o + 3] = c[3];
    }
  }
  return PNG.sync.write(png);
}

/** A small, fast, seedable PRNG (returns floats in [0, 1)); good enough for pictures, not for secrets. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** HSL (hue in degrees, saturation and lightness 0..1) to 8-bit RGB. */
function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const hp = h / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  const sector: readonly [number, number, number][] = [
    [c, x, 0],
    [x, c, 0],
    [0, c, x],
    [0, x, c],
    [x, 0, c],
    [c, 0, x],
  ];
  const [r, g, b] = sector[Math.min(5, Math.floor(hp))]!;
  const m = l - c / 2;
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}
