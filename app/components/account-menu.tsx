import { Form } from "@remix-run/react";

/** Who is signed in, and the way out: in the page header and in the chat sidebar. */
export function AccountBadge({ user }: { user: { username: string; role: "admin" | "user" } }) {
  return (
    <span className="username" title="Signed in as">
      {user.username}
      {user.role === "admin" ? <span className="badge">admin</span> : null}
    </span>
  );
}

export function LogoutButton() {
  return (
    <Form method="post" action="/logout">
      <button type="submit" className="button secondary small">
        Log out
      </button>
    </Form>
  );
}
