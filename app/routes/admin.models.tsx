import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { useState } from "react";
import { apiClient } from "~/lib/api-client";
import { AppHeader } from "~/components/app-header";
import { AdminTable } from "~/components/admin-table";
import { LocalTime } from "~/components/local-time";
import { requireAdmin } from "~/lib/session.server";

export const meta: MetaFunction = () => [{ title: "Models · TeamGPT" }];

export async function loader({ context, request }: LoaderFunctionArgs) {
  const user = requireAdmin(context, request);
  const [status, connections] = await Promise.all([context.api.admin.models.status(), context.api.admin.connections.list()]);
  return json({ user, status, connections: connections.items });
}

/** Where replies come from, each model's limits, and what the model server said when it failed. */
export default function AdminModelsPage() {
  const { user, status, connections } = useLoaderData<typeof loader>();
  return (
    <div className="page">
      <AppHeader user={user} />
      <main className="content wide">
        <h1>Models</h1>
        <p className="lead">
          Replies come from {/^https?:/.test(status.server) ? <code>{status.server}</code> : status.server}. People see what went wrong in
          plain words; what the server itself said is here and in the log.
        </p>
        <h2>Connection</h2>
        {connections.map((connection) => (
          <ConnectionCard key={connection.id} connection={connection} />
        ))}
        <h2>Limits</h2>
        <AdminTable columns={["Model", "Context window", "First-token timeout"]} actions={false}>
          {status.models.map((model) => (
            <tr key={model.id}>
              <td>{model.id}</td>
              <td data-label="Context window">
                {model.contextTokens.toLocaleString("en")} tokens
                {model.contextTokens < model.configuredContextTokens ? (
                  <span className="muted"> (the server said so; {model.configuredContextTokens.toLocaleString("en")} configured)</span>
                ) : null}
              </td>
              <td data-label="First-token timeout">{Math.round(model.firstTokenTimeoutMs / 100) / 10} s</td>
            </tr>
          ))}
        </AdminTable>
        <p className="hint">
          Set them with <code>MODEL_CONTEXT_TOKENS</code> and <code>MODEL_FIRST_TOKEN_TIMEOUT_MS</code> (docs/configuration.md).
        </p>
        <h2>Recent problems</h2>
        {status.problems.length === 0 ? (
          <p className="muted">None since the server started.</p>
        ) : (
          <AdminTable columns={["When", "Model", "What people saw", "What the server said"]} actions={false}>
            {status.problems.map((problem, index) => (
              <tr key={`${problem.at}-${index}`}>
                <td>
                  <LocalTime iso={problem.at} />
                </td>
                <td data-label="Model">{problem.model}</td>
                <td data-label="What people saw">{problem.message}</td>
                <td data-label="What the server said" className="problem-detail">
                  {problem.detail ?? "—"}
                </td>
              </tr>
            ))}
          </AdminTable>
        )}
      </main>
    </div>
  );
}

type Connection = ReturnType<typeof useLoaderData<typeof loader>>["connections"][number];

/** A connection: where it is defined (read-only when the environment defines it), and a test. */
function ConnectionCard({ connection }: { connection: Connection }) {
  const [testing, setTesting] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; message: string; listed?: string[] } | null>(null);

  async function test() {
    setTesting(true);
    setResult(null);
    try {
      setResult(await apiClient().admin.connections.test.mutate({ id: connection.id }));
    } catch (failure) {
      setResult({ ok: false, message: (failure as Error).message });
    } finally {
      setTesting(false);
    }
  }

  return (
    <section className="connection-card" aria-label={connection.name}>
      <dl className="connection-facts">
        <dt>Name</dt>
        <dd>{connection.name}</dd>
        <dt>Defined by</dt>
        <dd>
          {connection.source === "demo" ? (
            <>
              nothing yet: the built-in offline demo answers. Set <code>OPENAI_API_KEY</code> and <code>OPENAI_BASE_URL</code>, then
              restart.
            </>
          ) : (
            <>
              the environment (<code>OPENAI_BASE_URL</code>, <code>OPENAI_API_KEY</code>, <code>OPENAI_MODELS</code>): read-only here;
              change them and restart.
            </>
          )}
        </dd>
        <dt>Server</dt>
        <dd>{/^https?:/.test(connection.baseUrl) ? <code>{connection.baseUrl}</code> : connection.baseUrl}</dd>
        <dt>API key</dt>
        <dd>{connection.apiKey ?? <span className="muted">none</span>}</dd>
        <dt>Models offered</dt>
        <dd>{connection.models.join(", ")}</dd>
      </dl>
      <div className="actions">
        <button type="button" className="button secondary small" onClick={() => void test()} disabled={testing}>
          {testing ? "Testing…" : "Test connection"}
        </button>
        <p role="status" className={result ? (result.ok ? "test-ok" : "form-error") : undefined}>
          {result?.message}
        </p>
      </div>
      {result?.listed?.length ? (
        <details className="listed-models">
          <summary>What the server lists ({result.listed.length})</summary>
          <p>
            {result.listed.map((id, index) => (
              <span key={id}>
                {index > 0 ? ", " : null}
                <code>{id}</code>
              </span>
            ))}
          </p>
        </details>
      ) : null}
    </section>
  );
}
