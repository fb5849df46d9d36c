import { describe, expect, it } from "vitest";
import { ConfigError, loadEnv } from "../../server/env";

describe("configuration", () => {
  it("has working defaults for a fresh clone", () => {
    const env = loadEnv({});
    expect(env).toMatchObject({ PORT: 3000, NODE_ENV: "development", DATABASE_URL: "./data/teamgpt.db", RATE_LIMITS: true });
  });

  it("reads models as a list and the origin without its path", () => {
    const env = loadEnv({ OPENAI_MODELS: " a , b,", PUBLIC_ORIGIN: "https://chat.example.com/app", RATE_LIMITS: "off" });
    expect(env.OPENAI_MODELS).toEqual(["a", "b"]);
    expect(env.PUBLIC_ORIGIN).toBe("https://chat.example.com");
    expect(env.RATE_LIMITS).toBe(false);
  });

  it("trusts the proxy it is told to: on this machine by default, others by address or count", () => {
    expect(loadEnv({}).TRUST_PROXY).toBe(false);
    expect(loadEnv({ TRUST_PROXY: "on" }).TRUST_PROXY).toBe(true);
    expect(loadEnv({ TRUST_PROXY: "loopback" }).TRUST_PROXY).toBe("loopback");
    expect(loadEnv({ TRUST_PROXY: "off" }).TRUST_PROXY).toBe(false);
    expect(loadEnv({ TRUST_PROXY: "1" }).TRUST_PROXY).toBe(1);
    expect(loadEnv({ TRUST_PROXY: "loopback, 10.0.0.0/8, fd00::/8" }).TRUST_PROXY).toBe("loopback, 10.0.0.0/8, fd00::/8");
    expect(() => loadEnv({ TRUST_PROXY: "everyone" })).toThrow("TRUST_PROXY: expected");
    // Not the address 0.0.0.100.
    expect(() => loadEnv({ TRUST_PROXY: "100" })).toThrow("TRUST_PROXY: expected a number of proxies from 0 to 99");
  });

  it("treats an empty value as unset", () => {
    expect(loadEnv({ PORT: "" }).PORT).toBe(3000);
  });

  it("stops start-up with a message naming each bad variable", () => {
    let message = "";
    try {
      loadEnv({ PORT: "eighty", PUBLIC_ORIGIN: "chat.example.com", NODE_ENV: "prod" });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toContain('PORT: expected a port number (got "eighty")');
    expect(message).toContain("PUBLIC_ORIGIN: expected an origin");
    expect(message).toContain('NODE_ENV: expected "development", "production" or "test"');
  });
});
