/**
 * Remix v2, classic compiler. The server (server/server.ts, server/http/app.ts) owns the database,
 * auth and services and hands them to Remix through getLoadContext, so nothing
 * under server/ is bundled into build/ (the context: server/http/remix-context.ts).
 * @type {import('@remix-run/dev').AppConfig}
 */
export default {
  ignoredRouteFiles: ["**/.*", "**/*.test.*"],
  serverModuleFormat: "esm",
  future: {
    v3_fetcherPersist: true,
    v3_relativeSplatPath: true,
    v3_throwAbortReason: true,
    v3_lazyRouteDiscovery: true,
    v3_singleFetch: false,
  },
};
