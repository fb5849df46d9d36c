import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { envSchema, loadEnv } from "../../server/env";

/**
 * docs/configuration.md documents every variable of the configuration schema (server/env.ts)
 * in a table row of its own, `| `NAME` | default | what it does |`: a variable added to the
 * schema without a row, or a row left behind by a removed variable, fails here.
 */
const DOC = "docs/configuration.md";
const markdown = readFileSync(resolve(import.meta.dirname, "../..", DOC), "utf8");

interface DocumentedVariable {
  name: string;
  defaultCell: string;
}

/** Table rows whose first cell is one backticked variable name. */
function documentedVariables(text: string): DocumentedVariable[] {
  return [...text.matchAll(/^\| `([A-Z][A-Z0-9_]+)` *\|(.*)$/gm)].map(([, name = "", rest = ""]) => ({
    name,
    // Cells are separated by pipes that are not escaped (`\|` is a pipe inside a cell).
    defaultCell: (rest.split(/(?<!\\)\|/)[0] ?? "").trim(),
  }));
}

const schemaNames = Object.keys(envSchema.shape).sort();
const documented = documentedVariables(markdown);
const documentedNames = documented.map((variable) => variable.name);

describe("docs/configuration.md", () => {
  it("documents every variable of the configuration schema, and no other", () => {
    const undocumented = schemaNames.filter((name) => !documentedNames.includes(name));
    const unknown = [...new Set(documentedNames.filter((name) => !schemaNames.includes(name)))];
    const problems = [
      ...(undocumented.length > 0
        ? [`In the schema of server/env.ts but not documented in ${DOC} (add a table row for each): ${undocumented.join(", ")}`]
        : []),
      ...(unknown.length > 0
        ? [`Documented in ${DOC} but not in the schema of server/env.ts (remove or rename the row): ${unknown.join(", ")}`]
        : []),
    ];
    expect(problems, problems.join("\n")).toEqual([]);
  });

  it("documents each variable once", () => {
    const repeated = [...new Set(documentedNames.filter((name, index) => documentedNames.indexOf(name) !== index))];
    expect(repeated, `Documented more than once in ${DOC}: ${repeated.join(", ")}`).toEqual([]);
  });

  it("gives the defaults the schema has", () => {
    // Checked where the Default cell is one value in backticks: that value, given to the schema,
    // must read like an unset variable. Cells that explain (`– (…)`) are left to the reader.
    const defaults = loadEnv({});
    const wrong = documented.flatMap(({ name, defaultCell }) => {
      const value = /^`([^`]*)`$/.exec(defaultCell)?.[1];
      if (value === undefined || !schemaNames.includes(name)) return [];
      const key = name as keyof typeof defaults;
      let parsed: unknown;
      try {
        parsed = loadEnv({ [name]: value })[key];
      } catch {
        return [`${name}: the documented default "${value}" is not even a valid value`];
      }
      const actual = defaults[key];
      return JSON.stringify(parsed) === JSON.stringify(actual)
        ? []
        : [`${name}: documented default "${value}" reads as ${JSON.stringify(parsed)}, the schema's default is ${JSON.stringify(actual)}`];
    });
    expect(wrong, `Defaults in ${DOC} that differ from server/env.ts:\n${wrong.join("\n")}`).toEqual([]);
  });
});
