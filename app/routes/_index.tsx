import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { AppHeader } from "~/components/app-header";
import { requireUser } from "~/lib/session.server";

export const meta: MetaFunction = () => [{ title: "TeamGPT" }];

export async function loader({ context, request }: LoaderFunctionArgs) {
  const user = requireUser(context, request);
  return { user, models: await context.api.models.list() };
}

export default function HomePage() {
  const { user, models } = useLoaderData<typeof loader>();
  return (
    <div className="page">
      <AppHeader user={user} />
      <main className="content">
        <section className="card" aria-labelledby="welcome-title">
          <h1 id="welcome-title">Welcome, {user.username}</h1>
          <p>You are signed in to TeamGPT. Conversations with AI models will appear here.</p>
          <p>Models: {models.models.map((model) => model.label).join(", ")}</p>
          {models.demo ? (
            <p className="notice" role="note">
              No model server is configured, so the <strong>offline demo</strong> answers with canned replies. An admin can set{" "}
              <code>OPENAI_API_KEY</code> (and <code>OPENAI_BASE_URL</code> for Ollama, vLLM or another server) and restart TeamGPT.
            </p>
          ) : null}
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
