import { describe, it } from "vitest";
import { hasChromium } from "../helpers/browser";
import { useBrowserSuite } from "../helpers/e2e";
import { createUser } from "../helpers/factories";

describe.skipIf(!hasChromium)("in a real browser: a title written by the model", () => {
  const suite = useBrowserSuite({ MODEL_TITLES: "on" });

  it("replaces the first message's line in the sidebar shortly after the first reply", async () => {
    const user = await createUser(suite.server.services);
    const page = await suite.newPage("model-title");
    await suite.logIn(page, user.username);
    suite.upstream.enqueue({ kind: "reply", text: "Feed it, mix, fold, proof." }, { kind: "reply", text: "Sourdough basics" });
    await page.getByLabel("Message").fill("how do i even start with sourdough, any tips?");
    await page.getByLabel("Message").press("Enter");
    await page.getByText("Feed it, mix, fold, proof.").waitFor();
    await page.locator(".sidebar").getByRole("link", { name: "Sourdough basics" }).waitFor({ timeout: 8_000 });
    await page.getByRole("heading", { name: "Sourdough basics" }).waitFor();
  });
});
