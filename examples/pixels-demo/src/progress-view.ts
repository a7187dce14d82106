import type { Writable } from "node:stream";
import type { GenerationStage, Progress } from "@protoipc/pixels-sdk";
import cliProgress from "cli-progress";
import { stageName } from "./labels.js";
import { type Colors, isTty } from "./terminal.js";

/** The live display of one job. */
export interface JobProgressView {
  /** Shows one progress update (stage, step, percent, ETA). */
  update(progress: Progress): void;
  /** Shows that a preview image was written at `step`. */
  preview(step: number, imagePath: string): void;
  /** Freezes the display with a final outcome, e.g. "done in 3.4 s" (`ok`) or "cancelled". */
  finish(outcome: string, ok: boolean): void;
}

/** Live progress of several jobs at once, on one output stream. */
export interface ProgressView {
  /** Adds a job's display; `label` names it (e.g. the job id). */
  addJob(label: string): JobProgressView;
  /** Prints one line (no trailing newline needed) without garbling the live display. */
  note(line: string): void;
  /** Ends the live display; the stream is free for ordinary output again. Idempotent. */
  stop(): void;
}

/**
 * Creates the display that suits `out`: on a terminal, one live `cli-progress` bar per job
 * (redrawn in place, 15 times a second); on anything else (a pipe, a CI log, a test's buffer),
 * plain lines, one per stage change, preview and outcome, so a log reads like a story instead of
 * hundreds of redraws.
 */
export function createProgressView(out: Writable, colors: Colors): ProgressView {
  return isTty(out) ? createBarView(out, colors) : createLineView(out, colors);
}

/** Width of the stage column, so bars and lines stay aligned. */
const STAGE_WIDTH = "post_processing".length;

function describe(p: Progress, colors: Colors): string {
  const stage = stageName(p.stage).padEnd(STAGE_WIDTH);
  const step = `step ${String(p.step).padStart(String(p.totalSteps).length)}/${p.totalSteps}`;
  return `${colors.cyan(stage)}  ${step}  ${colors.dim(`eta ${p.etaS.toFixed(1)} s`)}`;
}

function createBarView(out: Writable, colors: Colors): ProgressView {
  const bars = new cliProgress.MultiBar(
    {
      stream: out,
      format: ` {label}  ${colors.cyan("{bar}")} {percentage}%  {status}`,
      barsize: 28,
      fps: 15,
      hideCursor: true,
      // Redraw every bar each frame: cli-progress skips unchanged bars, which leaves stale rows
      // after a log line (a preview, the cancel note) pushes the bars down.
      forceRedraw: true,
      autopadding: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let stopped = false;
  // A log line lands on a row a bar occupied; cli-progress clears only the first such row per
  // frame, so end every line with "erase to end of line" (ANSI EL) to remove what is left of the bar.
  const log = (line: string) => bars.log(`${line}\x1b[K\n`);
  return {
    addJob(label) {
      const bar = bars.create(100, 0, { label, status: colors.dim("queued") });
      return {
        update(p) {
          bar.update(Math.floor(p.percent), { status: describe(p, colors) });
        },
        preview(step, imagePath) {
          log(colors.dim(` ${label}  preview at step ${step}: ${imagePath}`));
        },
        finish(outcome, ok) {
          const status = ok ? colors.green(outcome) : colors.yellow(outcome);
          bar.update(ok ? 100 : bar.getProgress() * 100, { status });
          bar.stop();
        },
      };
    },
    note(line) {
      log(line);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bars.stop();
    },
  };
}

function createLineView(out: Writable, colors: Colors): ProgressView {
  const write = (line: string) => out.write(`${line}\n`);
  return {
    addJob(label) {
      let lastStage: GenerationStage | undefined;
      return {
        update(p) {
          // One line per stage change; the per-step updates would flood a log.
          if (p.stage === lastStage) return;
          lastStage = p.stage;
          write(` ${label}  ${String(Math.floor(p.percent)).padStart(3)}%  ${describe(p, colors)}`);
        },
        preview(step, imagePath) {
          write(colors.dim(` ${label}  preview at step ${step}: ${imagePath}`));
        },
        finish(outcome, ok) {
          write(` ${label}  ${ok ? colors.green(outcome) : colors.yellow(outcome)}`);
        },
      };
    },
    note(line) {
      write(line);
    },
    stop() {},
  };
}
