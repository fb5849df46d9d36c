import { describe, expect, it } from "vitest";
import { safeRedirectPath } from "~/lib/session.server";

describe("the page to go to after login", () => {
  it("keeps paths on this site, with their query and fragment", () => {
    expect(safeRedirectPath("/c/abc123")).toBe("/c/abc123");
    expect(safeRedirectPath("/admin/keys?status=unused#top")).toBe("/admin/keys?status=unused#top");
    expect(safeRedirectPath("/%09/evil.example")).toBe("/%09/evil.example");
  });

  it("never sends the browser to another host, however the value is disguised", () => {
    const offSite = [
      "//evil.example/x",
      "/\t/evil.example",
      "/\n/evil.example",
      "/\r\n/evil.example",
      "/\\evil.example",
      "\\/evil.example",
      "/\\/evil.example",
      " //evil.example",
      "https://evil.example",
      "javascript:alert(1)",
      "http:/evil.example",
      "/.//evil.example/x",
      "/a/..//evil.example",
      "/%2e//evil.example",
      "/./\\evil.example",
      "/..//evil.example",
      "",
    ];
    for (const value of offSite) expect(safeRedirectPath(value), JSON.stringify(value)).toBe("/");
  });

  it("falls back for anything that is not text", () => {
    expect(safeRedirectPath(null)).toBe("/");
    expect(safeRedirectPath(undefined, "/account")).toBe("/account");
  });
});
