// The shapes the desktop shell sends are generated from src-tauri/src/wire.rs into wire.gen.ts
// (`RUNLENS_UPDATE_TS=1 cargo test -p runlens-desktop wire`); this adds the page's own.
import type { ArtifactHeader } from "./wire.gen";

export type * from "./wire.gen";

/** One decoded chart series. */
export interface Series {
  /** Index into the runs the chart asked for. */
  run: number;
  smoothed: boolean;
  x: Float64Array;
  y: Float64Array;
}

/** An artifact's header (`wire::ArtifactHeader`) and its bytes. */
export interface ArtifactPreview extends ArtifactHeader {
  bytes: Uint8Array;
}
