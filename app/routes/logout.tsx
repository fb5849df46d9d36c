import { redirect, type ActionFunctionArgs } from "@remix-run/node";
import { cookieHeaders } from "~/lib/session.server";

export async function action({ context }: ActionFunctionArgs) {
  await context.api.auth.logout();
  return redirect("/login", { headers: cookieHeaders(context) });
}

// Logging out changes state, so it is a POST; a plain visit just goes home.
export function loader() {
  return redirect("/");
}
