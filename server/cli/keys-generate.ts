import { parseArgs } from "node:util";
import { generateKeys, MAX_KEYS_PER_BATCH } from "../services/registration-keys";
import { CommandError, openMigratedDatabase, runCommand } from "./database";

/** `npm run keys:generate -- --count N [--note TEXT]`: stores N keys and prints them as a keys file. */
await runCommand("keys:generate", () => {
  const { values } = parseOptions();
  const count = Number(values.count ?? "1");
  if (!Number.isInteger(count) || count < 1 || count > MAX_KEYS_PER_BATCH) {
    throw new CommandError(`--count must be a whole number from 1 to ${MAX_KEYS_PER_BATCH} (got ${values.count}).`);
  }
  const { database } = openMigratedDatabase();
  try {
    const keys = generateKeys(database, null, { count, note: values.note });
    process.stdout.write(`# ${count} TeamGPT registration ${count === 1 ? "key" : "keys"}, ${new Date().toISOString()}\n`);
    process.stdout.write(`${keys.map((key) => key.key).join("\n")}\n`);
  } finally {
    database.close();
  }
});

function parseOptions() {
  try {
    return parseArgs({ options: { count: { type: "string", short: "n" }, note: { type: "string" } }, strict: true });
  } catch (error) {
    throw new CommandError(`${(error as Error).message}\nUsage: npm run keys:generate -- --count N [--note TEXT]`);
  }
}
