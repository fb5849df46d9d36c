import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeUpstream } from "../../server/llm/fake-upstream";
import { ensureAdmin } from "../../server/services/accounts";
import { ROOT } from "../helpers/paths";
import { startTestServer, type TestServer } from "../helpers/server";
import { startTestUpstream, upstreamEnv } from "../helpers/upstream";

/** The README's shell examples, as a newcomer pastes them: in order, into one shell. */
function readmeShellBlocks(): string[] {
  const readme = readFileSync(resolve(ROOT, "README.md"), "utf8");
  return [...readme.matchAll(/<!-- readme-shell -->\s*```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

describe("the README's shell examples", () => {
  let upstream: FakeUpstream;
  let server: TestServer;

  beforeAll(async () => {
    ({ upstream } = await startTestUpstream());
    server = await startTestServer(upstreamEnv(upstream));
    // The admin the README's First admin section makes with npm run setup.
    await ensureAdmin(server.services.db, { username: "alice", password: "a long secret" });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });

  it("run as written, in order, on a fresh install", async () => {
    const blocks = readmeShellBlocks();
    expect(blocks).toHaveLength(2);
    upstream.enqueue({ kind: "reply", text: "Hello from the README." });
    const script = `set -euo pipefail\n${blocks.join("\n")}`.replaceAll("localhost:3000", new URL(server.url).host);
    const { stdout, stderr } = await promisify(execFile)("bash", ["-c", script], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
    expect(stderr).toBe("");
    const lines = stdout.split("\n");
    // auth.me and admin.keys.generate print one JSON answer a line.
    expect(JSON.parse(lines[0]!)).toMatchObject({ result: { data: { username: "alice", role: "admin" } } });
    expect(JSON.parse(lines[1]!)).toMatchObject({ result: { data: { keys: [{}, {}, {}] } } });
    // Then the reply streams as server-sent events, to its end.
    expect(stdout).toContain('"type":"delta"');
    expect(stdout).toContain("Hello");
    expect(stdout).toContain('"type":"done"');
  });
});
