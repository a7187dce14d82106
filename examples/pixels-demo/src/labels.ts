import path from "node:path";
import { GenerationStage } from "@protoipc/pixels-sdk";

/**
 * The name a generate request uses for a model: its file name without the extension
 * (`models/loras/pixelart.safetensors` → `pixelart`), as dgx-pixels does.
 */
export function modelIdOf(modelPath: string): string {
  return path.basename(modelPath, path.extname(modelPath));
}

/** The lowercase name of a stage, as the original wire spells it: `loading_models`. */
export function stageName(stage: GenerationStage): string {
  return (GenerationStage[stage] ?? `stage_${stage}`).toLowerCase();
}
