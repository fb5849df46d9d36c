import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { AppHeader } from "~/components/app-header";
import { AdminTable } from "~/components/admin-table";
import { LocalTime } from "~/components/local-time";
import { requireAdmin } from "~/lib/session.server";

export const meta: MetaFunction = () => [{ title: "Models · TeamGPT" }];

export async function loader({ context, request }: LoaderFunctionArgs) {
  const user = requireAdmin(context, request);
  return json({ user, status: await context.api.admin.models.status() });
}

/** Where replies come from, each model's limits, and what the model server said when it failed. */
export default function AdminModelsPage() {
  const { user, status } = useLoaderData<typeof loader>();
  return (
    <div className="page">
      <AppHeader user={user} />
      <main className="content wide">
        <h1>Models</h1>
        <p className="lead">
          Replies come from {/^https?:/.test(status.server) ? <code>{status.server}</code> : status.server}. People see what went wrong in
          plain words; what the server itself said is here and in the log.
        </p>
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
