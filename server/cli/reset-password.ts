import { eq } from "drizzle-orm";
import { users } from "../db/schema";
import { createResetLink, RESET_LINK_HOURS } from "../services/password-resets";
import { CommandError, openMigratedDatabase, runCommand } from "./database";

/**
 * `npm run users:reset-password -- USERNAME`: prints a one-time link with which that person
 * chooses a new password: the way back in for a lost admin password.
 */
await runCommand("users:reset-password", () => {
  const username = process.argv[2]?.trim();
  if (!username || process.argv.length > 3) throw new CommandError("Usage: npm run users:reset-password -- USERNAME");
  const { env, database } = openMigratedDatabase();
  try {
    const user = database.db.select({ id: users.id }).from(users).where(eq(users.usernameKey, username.toLowerCase())).get();
    if (!user) throw new CommandError(`There is no account named "${username}".`);
    const link = createResetLink(database, null, { userId: user.id });
    const origin = env.PUBLIC_ORIGIN ?? `http://localhost:${env.PORT}`;
    console.log(`A new password for ${link.username}: open ${origin}${link.path}`);
    console.log(
      `The link works once, for ${RESET_LINK_HOURS} hours; it replaces any earlier one. Using it logs ${link.username} out everywhere.`,
    );
  } finally {
    database.close();
  }
});
