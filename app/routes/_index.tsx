import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { AppHeader } from "~/components/app-header";
import { requireUser } from "~/lib/session.server";

export const meta: MetaFunction = () => [{ title: "TeamGPT" }];

export function loader({ context, request }: LoaderFunctionArgs) {
  return { user: requireUser(context, request) };
}

export default function HomePage() {
  const { user } = useLoaderData<typeof loader>();
  return (
    <div className="page">
      <AppHeader user={user} />
      <main className="content">
        <section className="card" aria-labelledby="welcome-title">
          <h1 id="welcome-title">Welcome, {user.username}</h1>
          <p>You are signed in to TeamGPT. Conversations with AI models will appear here.</p>
          {user.role === "admin" ? (
            <p>
              As an admin you can hand out <Link to="/admin/keys">registration keys</Link> to your team.
            </p>
          ) : null}
        </section>
      </main>
    </div>
  );
}
