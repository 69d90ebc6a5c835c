// V8 settings for the server process, applied before anything else is loaded (main.ts imports
// this module first). See bench/REPORT.md, "Allocation-site pretenuring".
import v8 from "node:v8";

v8.setFlagsFromString("--no-allocation-site-pretenuring");
