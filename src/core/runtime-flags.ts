// V8 settings for the server process, applied before anything else is loaded (main.ts imports
// this module first, so they hold however the process is started). Measured in bench/REPORT.md
// ("Memory: V8's pretenuring and heap growth", issue 21):
// - no allocation-site pretenuring: under load V8 decided that objects of a request (allocated
//   where many survive one scavenge, as with a few dozen requests in flight) were long-lived and
//   allocated them in old space, where they died; the heap grew to ~175 MB between full
//   collections (RSS 290 MB under `{ me }` at 16 connections, 182 MB without, and less CPU);
// - the old generation may grow to 1.25x what the last full collection kept (V8's default factor
//   goes up to 4x): transient load (mail sends and reads at 64 connections) no longer lifts RSS
//   past 200 MB. Full collections run more often, on a live heap of about 50 MB. (1.5x peaked at
//   197-202 MB on a slower day; 1.25x at 180 MB in the same session, with no CPU change.)
// Both are heuristics of the garbage collector, not limits: no size is capped, nothing can fail.
import v8 from "node:v8";

v8.setFlagsFromString("--no-allocation-site-pretenuring");
v8.setFlagsFromString("--heap-growing-percent=25");
