import { createTeamGPTClient, type TeamGPTClient } from "../../client";

let client: TeamGPTClient | undefined;

/**
 * The browser's typed tRPC client: same origin, the session cookie does the rest. Created
 * on first use, so server rendering never builds one.
 */
export function apiClient(): TeamGPTClient {
  client ??= createTeamGPTClient({ url: window.location.origin });
  return client;
}
