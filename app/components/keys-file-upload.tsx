import { Form, useRevalidator } from "@remix-run/react";
import type { RouterOutputs } from "../../client";
import { useState, type FormEvent } from "react";

export type LoadResult = RouterOutputs["admin"]["keys"]["load"];

type Phase = { kind: "idle" } | { kind: "uploading"; fraction: number } | { kind: "loading" } | { kind: "failed"; message: string };

/**
 * Uploads a keys file with a progress bar (XMLHttpRequest reports upload progress; fetch
 * does not). Without JavaScript the same form posts to the page's action.
 */
export function KeysFileUpload({ serverResult }: { serverResult: LoadResult | null }) {
  const [phase, setPhase] = useState<Phase>({ kind: "idle" });
  const [result, setResult] = useState<LoadResult | null>(null);
  const revalidator = useRevalidator();
  const shown = result ?? serverResult;

  function upload(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const request = new XMLHttpRequest();
    request.open("POST", `${window.location.pathname}?_data=${encodeURIComponent("routes/admin.keys")}`);
    request.responseType = "json";
    request.upload.onprogress = (progress) => {
      if (progress.lengthComputable) setPhase({ kind: "uploading", fraction: progress.loaded / progress.total });
    };
    request.upload.onload = () => setPhase({ kind: "loading" });
    request.onload = () => {
      const body = request.response as {
        ok?: boolean;
        loaded?: LoadResult;
        formError?: string | null;
        fieldErrors?: Record<string, string>;
      } | null;
      if (request.status === 200 && body?.ok && body.loaded) {
        setResult(body.loaded);
        setPhase({ kind: "idle" });
        form.reset();
        revalidator.revalidate();
      } else {
        const message = body?.formError ?? Object.values(body?.fieldErrors ?? {})[0] ?? `The upload failed (HTTP ${request.status}).`;
        setPhase({ kind: "failed", message });
      }
    };
    request.onerror = () => setPhase({ kind: "failed", message: "The upload failed: the connection was lost. Try again." });
    setResult(null);
    setPhase({ kind: "uploading", fraction: 0 });
    request.send(new FormData(form));
  }

  const busy = phase.kind === "uploading" || phase.kind === "loading";
  return (
    <>
      <Form method="post" encType="multipart/form-data" className="stack-form" onSubmit={upload}>
        <input type="hidden" name="intent" value="load" />
        <div className="field">
          <label htmlFor="file">Keys file</label>
          <input id="file" name="file" type="file" accept=".txt,text/plain" required />
        </div>
        <button type="submit" className="button primary" disabled={busy}>
          {phase.kind === "uploading" ? "Uploading…" : phase.kind === "loading" ? "Loading keys…" : "Upload and load"}
        </button>
      </Form>
      {phase.kind === "uploading" || phase.kind === "loading" ? (
        <div className="upload-progress" role="status">
          <progress max={1} value={phase.kind === "uploading" ? phase.fraction : undefined} aria-label="Upload progress" />
          <span>{phase.kind === "uploading" ? `${Math.round(phase.fraction * 100)} % uploaded` : "Checking and loading the keys…"}</span>
        </div>
      ) : null}
      {phase.kind === "failed" ? (
        <p className="form-error" role="alert">
          {phase.message}
        </p>
      ) : null}
      {shown && phase.kind === "idle" ? <LoadSummary {...shown} /> : null}
    </>
  );
}

export function LoadSummary({ added, duplicates, invalid, invalidCount }: LoadResult) {
  return (
    <div className={invalidCount ? "load-summary has-errors" : "load-summary"} role="status">
      {invalidCount ? (
        <>
          <p>
            <strong>Nothing was added:</strong> {invalidCount} {invalidCount === 1 ? "line is" : "lines are"} malformed. Fix{" "}
            {invalidCount === 1 ? "it" : "them"} and upload the file again.
          </p>
          <ul>
            {invalid.slice(0, 50).map((problem) => (
              <li key={problem.line}>
                Line {problem.line}: {problem.reason}
              </li>
            ))}
          </ul>
          {invalidCount > 50 ? <p>…and {invalidCount - 50} more.</p> : null}
        </>
      ) : (
        <p>
          <strong>{added}</strong> added, <strong>{duplicates}</strong> {duplicates === 1 ? "duplicate" : "duplicates"} skipped.
        </p>
      )}
    </div>
  );
}
