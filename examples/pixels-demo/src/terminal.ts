import type { Writable } from "node:stream";
import pc from "picocolors";

/** Colour functions (`colors.green("ok")`); identity functions when colour is off. */
export type Colors = ReturnType<typeof pc.createColors>;

/** True when `out` is a terminal that can redraw lines in place. */
export function isTty(out: Writable): boolean {
  return (out as Writable & { isTTY?: boolean }).isTTY === true;
}

/**
 * The colours for `out`: on when `out` is a terminal, or `FORCE_COLOR` is set, and picocolors
 * finds colour support (it honours `NO_COLOR`, `FORCE_COLOR` and `--no-color`); off for pipes,
 * files and test buffers.
 */
export function colorsFor(out: Writable): Colors {
  const forced = process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== "0";
  return pc.createColors(pc.isColorSupported && (isTty(out) || forced));
}

/** One section line of the demo's output: `▸ title         detail`, the details aligned. */
export function heading(colors: Colors, title: string, detail = ""): string {
  const marker = colors.bold(colors.magenta("▸"));
  return detail === ""
    ? `${marker} ${colors.bold(title)}`
    : `${marker} ${colors.bold(title.padEnd(14))}${detail}`;
}
