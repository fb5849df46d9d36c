import { ZodError } from "zod";
import { ensureAdmin } from "../services/accounts";
import { CommandError, openMigratedDatabase, runCommand } from "./database";

/** `npm run setup`: migrate, then create the first admin. Running it again changes nothing. */
await runCommand("setup", async () => {
  const { env, database } = openMigratedDatabase();
  try {
    console.log(`Database ready at ${env.DATABASE_URL} (migrations applied).`);
    const result = await ensureAdmin(database.db, { username: env.ADMIN_USERNAME, password: env.ADMIN_PASSWORD }).catch(
      (error: unknown) => {
        // Said with the variable to change, not the field of the form behind it.
        if (error instanceof ZodError) {
          const variable = (path: PropertyKey[]) => (path[0] === "password" ? "ADMIN_PASSWORD" : "ADMIN_USERNAME");
          throw new CommandError(error.issues.map((issue) => `${variable(issue.path)}: ${issue.message}`).join("\n"));
        }
        throw error;
      },
    );
    if (!result.created) {
      console.log(`An admin already exists (${result.username}); nothing changed.`);
      return;
    }
    console.log(`Created the admin account "${result.username}".`);
    if (result.generatedPassword) {
      console.log(`Its password is: ${result.generatedPassword}`);
      console.log("This is shown only once: write it down now.");
    }
  } finally {
    database.close();
  }
});
