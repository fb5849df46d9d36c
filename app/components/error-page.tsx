import { isRouteErrorResponse, Link, useRouteError } from "@remix-run/react";

const TITLES: Record<number, string> = {
  403: "You can't open this page",
  404: "Page not found",
};

/** The one error view every route reuses. Unexpected errors show no internals. */
export function ErrorPage() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const title = TITLES[status] ?? "Something went wrong";
  const detail =
    isRouteErrorResponse(error) && typeof error.data === "string" && error.data
      ? error.data
      : status === 404
        ? "There is nothing at this address."
        : "Something went wrong on our side. Try again in a moment.";
  return (
    <main className="centered">
      <section className="card" aria-labelledby="error-title">
        <p className="eyebrow">Error {status}</p>
        <h1 id="error-title">{title}</h1>
        <p>{detail}</p>
        <p>
          <Link to="/">Back to TeamGPT</Link>
        </p>
      </section>
    </main>
  );
}
