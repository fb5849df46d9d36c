import { redirect, type AppLoadContext } from "@remix-run/node";
import { forbidden } from "./responses.server";

/** Guards for the top of loaders and actions (the Epic Stack's requireUserId and friends). */

export function requireUser(context: AppLoadContext, request: Request) {
  if (context.user) return context.user;
  const url = new URL(request.url);
  const redirectTo = `${url.pathname}${url.search}`;
  const search = redirectTo === "/" ? "" : `?${new URLSearchParams({ redirectTo })}`;
  throw redirect(`/login${search}`);
}

export function requireAdmin(context: AppLoadContext, request: Request) {
  const user = requireUser(context, request);
  if (user.role !== "admin") {
    throw forbidden("Only admins can open this page.");
  }
  return user;
}

export function requireAnonymous(context: AppLoadContext) {
  if (context.user) throw redirect("/");
}

const OWN_ORIGIN = "http://teamgpt.invalid";

/**
 * A path on this site to go to after login, or `fallback`. Decided by parsing the value the
 * way a browser will, not by looking at its first characters: browsers drop tabs and newlines
 * and read `\\` as `/`, so `/\t/evil.example` is `//evil.example`, another host. The answer is
 * the parsed path, so what we send is what was checked.
 */
export function safeRedirectPath(value: FormDataEntryValue | string | null | undefined, fallback = "/"): string {
  if (typeof value !== "string" || !value.startsWith("/")) return fallback;
  let url: URL;
  try {
    url = new URL(value, OWN_ORIGIN);
  } catch {
    return fallback;
  }
  // Dot segments removed, `/.//evil.example` is `//evil.example`: a path a browser reads as a host.
  if (url.origin !== OWN_ORIGIN || url.pathname.startsWith("//")) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}

/** Headers carrying the cookies the procedures of this request set (login, logout). */
export function cookieHeaders(context: AppLoadContext): Headers {
  const headers = new Headers();
  for (const cookie of context.responseCookies) headers.append("Set-Cookie", cookie);
  return headers;
}
