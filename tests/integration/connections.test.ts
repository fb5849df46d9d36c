import { describe, expect, it } from "vitest";
import { FAKE_API_KEY } from "../helpers/upstream";
import { callerFor, createUser } from "../helpers/factories";
import { useModelServerSuite } from "../helpers/suites";

/** The admin's connections (issue 17): today the one the OPENAI_* variables define. */
const suite = useModelServerSuite();

async function adminApi() {
  const admin = await createUser(suite.services, { role: "admin" });
  return (await callerFor(suite.services, { userId: admin.id })).api;
}

describe("the connection from the environment", () => {
  it("is listed read-only with where it comes from, its key masked and never sent", async () => {
    const api = await adminApi();
    const { items } = await api.admin.connections.list();
    expect(items).toEqual([
      {
        id: "environment",
        name: "From the environment",
        source: "environment",
        baseUrl: suite.upstream.url,
        apiKey: `•••• ${FAKE_API_KEY.slice(-4)}`,
        models: ["fake-small", "fake-large"],
      },
    ]);
    expect(JSON.stringify(items)).not.toContain(FAKE_API_KEY);
  });

  it("a test asks the server for its models and says how long it took", async () => {
    const result = await (await adminApi()).admin.connections.test({ id: "environment" });
    expect(result).toMatchObject({ ok: true, missing: [], listed: ["fake-large", "fake-small"] });
    expect(result.message).toMatch(/^Connected in \d+ ms\. The server lists 2 models, including every one offered here\.$/);
  });

  it("names offered models the server does not list", async () => {
    await suite.restartWith({ OPENAI_MODELS: "fake-small,gpt-typo" });
    const result = await (await adminApi()).admin.connections.test({ id: "environment" });
    expect(result).toMatchObject({ ok: false, missing: ["gpt-typo"] });
    expect(result.message).toContain("does not list gpt-typo");
  });

  it("a refused key and an unreachable server are said in words an admin can act on", async () => {
    await suite.restartWith({ OPENAI_API_KEY: "sk-wrong" });
    const refused = await (await adminApi()).admin.connections.test({ id: "environment" });
    expect(refused.ok).toBe(false);
    expect(refused.message).toMatch(/API key/i);
    expect(refused.message).not.toContain("sk-wrong");

    await suite.restartWith({ OPENAI_BASE_URL: "http://127.0.0.1:9/v1" });
    const unreachable = await (await adminApi()).admin.connections.test({ id: "environment" });
    expect(unreachable).toMatchObject({ ok: false });
    expect(unreachable.message).toContain("Could not reach the model server");
  });

  it("an unknown connection is not found", async () => {
    await expect((await adminApi()).admin.connections.test({ id: "elsewhere" })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
