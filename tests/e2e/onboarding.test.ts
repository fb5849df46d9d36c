import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { hasChromium, screenshot } from "../helpers/browser";
import { useBrowserSuite } from "../helpers/e2e";
import { consumeRegistrationKey, generateKeys } from "../../server/services/registration-keys";
import { createUser } from "../helpers/factories";

describe.skipIf(!hasChromium)("in a real browser: an admin hands out a key and a newcomer joins", () => {
  const suite = useBrowserSuite();
  const newPage = (name: string, viewport?: { width: number; height: number }) => suite.newPage(name, viewport);
  const logIn = (page: Page, username: string, password?: string) => suite.logIn(page, username, password);

  it("generate a key, register with it, log out", async () => {
    const admin = await createUser(suite.server.services, { role: "admin", username: "Admin" });
    const adminPage = await newPage("admin");
    await logIn(adminPage, admin.username);
    await adminPage.getByRole("link", { name: "Registration keys" }).click();
    await adminPage.getByLabel("Note (optional)").fill("for Ada");
    await adminPage.getByRole("button", { name: "Generate" }).click();
    const key = (await adminPage.getByLabel("New keys").inputValue()).trim();
    expect(key).toMatch(/^tgk_[0-9a-z]{26}$/);
    await expect.poll(() => adminPage.getByRole("cell", { name: key, exact: true }).count()).toBe(1);

    await adminPage.getByLabel("Keys file", { exact: true }).setInputFiles({
      name: "keys.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("# from HR\nhr-key-0000001\nhr-key-0000002\nhr-key-0000001\n"),
    });
    await adminPage.getByRole("button", { name: "Upload and load" }).click();
    await adminPage.getByText("2 added, 1 duplicate skipped.").waitFor();
    await adminPage.getByRole("cell", { name: "hr-key-0000002", exact: true }).waitFor();

    // An invite link fills the key in on the register page.
    await adminPage.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: suite.server.url });
    await adminPage
      .getByRole("row", { name: new RegExp(key) })
      .getByRole("button", { name: "Copy invite link" })
      .click();
    expect(await adminPage.evaluate("navigator.clipboard.readText()")).toBe(`${suite.server.url}/register?key=${key}`);

    // Revoking asks first, in place; Escape takes it back, then Yes revokes.
    const dialogs: string[] = [];
    adminPage.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await adminPage.getByRole("button", { name: "Revoke hr-key-0000002" }).click();
    await adminPage.getByRole("group", { name: /^Revoke hr-key-0000002\?/ }).waitFor();
    await adminPage.keyboard.press("Escape");
    await expect
      .poll(() => adminPage.getByRole("button", { name: "Revoke hr-key-0000002" }).evaluate((el) => el === document.activeElement))
      .toBe(true);
    await adminPage.getByRole("button", { name: "Revoke hr-key-0000002" }).click();
    await adminPage.getByRole("button", { name: "Yes, revoke" }).click();
    await adminPage.getByText("Revoked hr-key-0000002.").waitFor();
    expect(dialogs).toEqual([]);
    await screenshot(adminPage, "admin-keys");

    const page = await newPage("newcomer");
    await page.goto(`${suite.server.url}/`);
    expect(new URL(page.url()).pathname).toBe("/login");
    await page.getByRole("link", { name: "Register with a key" }).click();
    await page.getByRole("heading", { name: "Create your account" }).waitFor();
    await page.getByLabel("Username").fill("ada");
    await page.getByLabel("Password", { exact: true }).fill("analytical engine");
    await page.getByLabel("Confirm password").fill("analytical engines");
    await page.getByLabel("Registration key").fill(key);
    await page.getByRole("button", { name: "Register" }).click();
    await expect.poll(() => page.getByText("The passwords do not match.").count()).toBe(1);
    expect(await page.getByLabel("Username").inputValue()).toBe("ada");
    expect(await page.getByLabel("Password", { exact: true }).inputValue()).toBe("");
    await screenshot(page, "register-error");

    await page.getByLabel("Password", { exact: true }).fill("analytical engine");
    await page.getByLabel("Confirm password").fill("analytical engine");
    await page.getByRole("button", { name: "Register" }).click();
    await page.getByRole("heading", { name: "What can I help with?" }).waitFor();
    await page.getByText("ada", { exact: true }).waitFor();

    suite.upstream.enqueue({ kind: "reply", text: "Welcome to the team, Ada." });
    await page.getByLabel("Message").fill("Hello, who am I talking to?");
    await page.getByRole("button", { name: "Send" }).click();
    await page.getByText("Welcome to the team, Ada.").waitFor();
    await page.getByRole("link", { name: "Hello, who am I talking to?" }).waitFor();

    await page.goto(`${suite.server.url}/admin/keys`);
    await page.getByRole("heading", { name: "You can't open this page" }).waitFor();

    await adminPage.goto(`${suite.server.url}/admin/keys?status=used`);
    await expect.poll(() => adminPage.getByRole("row", { name: new RegExp(`${key}.*used.*ada`) }).count()).toBe(1);

    await page.goto(`${suite.server.url}/`);
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    await page.goto(`${suite.server.url}/`);
    expect(new URL(page.url()).pathname).toBe("/login");
  });

  it("the login page works on a phone", async () => {
    const user = await createUser(suite.server.services);
    const page = await newPage("phone-login", { width: 375, height: 740 });
    await logIn(page, user.username, "wrong password");
    await page.getByText("Wrong username or password.").waitFor();
    await screenshot(page, "phone-login-error");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    expect(overflow).toBe(false);
    await logIn(page, user.username);
    await page.getByRole("heading", { name: "What can I help with?" }).waitFor();
  });

  it("the admin tables fit: every action in view on a wide screen and on a phone, where rows are cards", async () => {
    const admin = await createUser(suite.server.services, { role: "admin" });
    const someone = await createUser(suite.server.services);
    const [used] = generateKeys(suite.server.services, null, { count: 3, note: "a rather long note about which team these keys are for" });
    consumeRegistrationKey(suite.server.services.db, used!.key, someone.id);
    for (const viewport of [
      { width: 1440, height: 900 },
      { width: 1280, height: 860 },
      { width: 375, height: 740 },
    ]) {
      const page = await newPage(`admin-tables-${viewport.width}`, viewport);
      await logIn(page, admin.username);
      await page.getByRole("heading", { name: "What can I help with?" }).waitFor();
      for (const path of ["/admin/keys", "/admin/users"]) {
        await page.goto(`${suite.server.url}${path}`);
        await page.locator(".keys-table").waitFor();
        expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
        const outside = await page.evaluate(() => {
          const wrap = document.querySelector(".table-wrap")!.getBoundingClientRect();
          return [...document.querySelectorAll(".keys-table .button")]
            .map((button) => button.getBoundingClientRect())
            .filter((box) => box.right > Math.min(wrap.right, window.innerWidth) + 1).length;
        });
        expect(outside).toBe(0);
        expect(await page.locator(".keys-table").innerText()).not.toContain("LocalTime");
        await screenshot(page, `admin-${path.split("/").at(-1)}-${viewport.width}`);
      }
    }
  });

  it("the models page shows the connection the environment defines, its key masked, and tests it", async () => {
    const admin = await createUser(suite.server.services, { role: "admin" });
    for (const viewport of [
      { width: 1280, height: 860 },
      { width: 375, height: 740 },
    ]) {
      const page = await newPage(`admin-models-${viewport.width}`, viewport);
      await logIn(page, admin.username);
      await page.getByRole("heading", { name: "What can I help with?" }).waitFor();
      await page.goto(`${suite.server.url}/admin/models`);
      const card = page.getByRole("region", { name: "From the environment" });
      await card.getByText("read-only here; change them and restart").waitFor();
      expect(await card.innerText()).toContain("•••• ");
      expect(await page.content()).not.toContain("sk-test-teamgpt");
      await card.getByRole("button", { name: "Test connection" }).click();
      await card.getByRole("status").getByText(/Connected in \d+ ms/).waitFor();
      await card.getByText("What the server lists (2)").click();
      await card.getByText("fake-large", { exact: true }).waitFor();
      expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
      await screenshot(page, `admin-models-${viewport.width}`);
    }
  });

  it("a reset link says until when, in the admin's time; removing your own admin role asks first, then leaves", async () => {
    const admin = await createUser(suite.server.services, { role: "admin" });
    const other = await createUser(suite.server.services, { role: "admin" });
    const page = await newPage("self-demote");
    await page.emulateMedia({ colorScheme: "dark" });
    await logIn(page, admin.username);
    await page.getByRole("heading", { name: "What can I help with?" }).waitFor();
    await page.goto(`${suite.server.url}/admin/users`);

    await page.getByRole("button", { name: `Make a password reset link for ${other.username}` }).click();
    const until = page.locator(".notice time");
    await until.waitFor();
    const expiresIn = Date.parse((await until.getAttribute("datetime"))!) - Date.now();
    expect(Math.abs(expiresIn - 24 * 3600_000)).toBeLessThan(60_000);

    await page.getByRole("button", { name: `Remove admin from ${admin.username}` }).click();
    await page.getByText("Remove your own admin role? You leave the admin pages at once.").waitFor();
    await screenshot(page, "admin-users-self-demote-dark");
    await page.getByRole("button", { name: "Yes, remove" }).click();
    await page.getByRole("heading", { name: "What can I help with?" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/");
    expect(await page.getByRole("link", { name: "Users" }).count()).toBe(0);
  });

  it("copy buttons still copy where the browser refuses the Clipboard API (a plain-http LAN install)", async () => {
    const admin = await createUser(suite.server.services, { role: "admin" });
    const [key] = generateKeys(suite.server.services, null, { count: 1 });
    const page = await newPage("copy-fallback");
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: suite.server.url });
    // As on an http:// origin other than localhost: the asynchronous Clipboard API refuses.
    await page.addInitScript(() => {
      navigator.clipboard.writeText = () => Promise.reject(new DOMException("Write permission denied.", "NotAllowedError"));
    });
    await logIn(page, admin.username);
    await page.getByRole("heading", { name: "What can I help with?" }).waitFor();
    await page.goto(`${suite.server.url}/admin/keys`);
    const row = page.getByRole("row", { name: new RegExp(key!.key) });
    const before = await row.boundingBox();
    await row.getByRole("button", { name: "Copy invite link" }).click();
    await row.getByRole("button", { name: "Copied" }).waitFor();
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(`${suite.server.url}/register?key=${key!.key}`);
    // The label changed; the row did not move.
    expect(await row.boundingBox()).toEqual(before);
  });
});
