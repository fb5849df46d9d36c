import { readFileSync } from "node:fs";
import { loadKeys, MAX_KEYS_FILE_CHARS } from "../services/registration-keys";
import { CommandError, openMigratedDatabase, runCommand } from "./database";

/** `npm run keys:load -- FILE`: all or nothing; non-zero exit on a missing or malformed file. */
await runCommand("keys:load", () => {
  const file = process.argv[2];
  if (!file || file === "--help" || file === "-h")
    throw new CommandError("Usage: npm run keys:load -- FILE  (one key a line, # comments allowed)");
  const text = readKeysFile(file);
  const { database } = openMigratedDatabase();
  try {
    const result = loadKeys(database, null, { text });
    if (result.invalidCount > 0) {
      console.error(`${file}: ${result.invalidCount} malformed ${result.invalidCount === 1 ? "line" : "lines"}; nothing was added.`);
      for (const problem of result.invalid) console.error(`  line ${problem.line}: ${problem.reason}`);
      if (result.invalidCount > result.invalid.length) console.error(`  …and ${result.invalidCount - result.invalid.length} more.`);
      return 1;
    }
    console.log(`${result.added} added, ${result.duplicates} duplicate${result.duplicates === 1 ? "" : "s"} skipped, 0 invalid.`);
    return 0;
  } finally {
    database.close();
  }
});

function readKeysFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder" : code === "EACCES" ? "permission denied" : String(code);
    throw new CommandError(`Cannot read ${file}: ${why}.`);
  }
  if (text.length > MAX_KEYS_FILE_CHARS) throw new CommandError(`${file} is too large (at most 2 MB of keys).`);
  if (text.includes("\u0000")) throw new CommandError(`${file} is not a text file.`);
  return text;
}
