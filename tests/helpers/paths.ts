import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const ARTIFACTS_DIR = resolve(ROOT, "tests/.artifacts");
export const BASE_DATABASE = resolve(ARTIFACTS_DIR, "base.db");
