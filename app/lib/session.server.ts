import { redirect, type AppLoadContext } from "@remix-run/node";

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
    throw new Response("Only admins can open this page.", { status: 403, statusText: "Forbidden" });
  }
  return user;
}

export function requireAnonymous(context: AppLoadContext) {
  if (context.user) throw redirect("/");
}

/** Only same-site paths: an absolute or protocol-relative URL here would be an open redirect. */
export function safeRedirectPath(value: FormDataEntryValue | string | null | undefined, fallback = "/"): string {
  if (typeof value !== "string" || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return fallback;
  return value;
}

/** Headers carrying the cookies the procedures of this request set (login, logout). */
export function cookieHeaders(context: AppLoadContext): Headers {
  const headers = new Headers();
  for (const cookie of context.responseCookies) headers.append("Set-Cookie", cookie);
  return headers;
}
