import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useActionData, useLoaderData, useLocation, useNavigate, useOutletContext, useRevalidator } from "@remix-run/react";
import { useEffect, useState } from "react";
import { ChatView, type PendingSend } from "~/components/chat-view";
import { ChatTopbar, ModelPicker } from "~/components/chat-topbar";
import { ErrorPage } from "~/components/error-page";
import { apiClient } from "~/lib/api-client";
import { failureMessage } from "~/lib/form-failure";
import { formFailure, formText } from "~/lib/forms.server";
import { requireUser } from "~/lib/session.server";
import type { ChatOutletContext } from "./_chat";
import { LIMITS } from "../../client/limits";
import { notFound } from "~/lib/responses.server";
import { FIRST_PAGE } from "~/lib/message-list";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: data ? `${data.conversation.title} · TeamGPT` : "TeamGPT" }];

async function loadConversation(context: LoaderFunctionArgs["context"], id: string, hit: string | null) {
  try {
    if (hit) {
      const page = await loadBranchOfHit(context, id, hit);
      if (page) return page;
    }
    // The latest messages only: a 1,000-message conversation opens as fast as a short one.
    return await context.api.conversations.get({ id, ...FIRST_PAGE });
  } catch (error) {
    // A mangled id (too long, say) is just as much not there.
    const { code } = context.describeError(error);
    if (code === "NOT_FOUND" || code === "BAD_REQUEST") throw notFound("That conversation does not exist, or it is not yours.");
    throw error;
  }
}

/** Messages read back at most to show a search hit: beyond that it is not marked. */
const MAX_MESSAGES_TO_HIT = 2_000;

/**
 * A search hit's branch, read (not chosen: a GET changes nothing; the page chooses it once
 * shown), back far enough to hold the hit. Null when the hit is not in the conversation.
 */
async function loadBranchOfHit(context: LoaderFunctionArgs["context"], id: string, hit: string) {
  const page = await context.api.conversations.get({ id, through: hit, ...FIRST_PAGE }).catch(() => null);
  if (!page) return null;
  while (!page.messages.some((message) => message.id === hit) && page.hasEarlier && page.messages.length < MAX_MESSAGES_TO_HIT) {
    const earlier = await context.api.conversations.get({ id, before: page.messages[0]!.id, limit: 200, maxChars: 200_000 });
    page.messages.unshift(...earlier.messages);
    page.hasEarlier = earlier.hasEarlier;
  }
  return page;
}

export async function loader({ context, request, params }: LoaderFunctionArgs) {
  requireUser(context, request);
  const hit = new URL(request.url).searchParams.get("message");
  return json({ ...(await loadConversation(context, params.conversationId ?? "", hit)), hit });
}

/** Without JavaScript: send, wait for the whole reply, show the page again (or why it was refused). */
export async function action({ context, request, params }: ActionFunctionArgs) {
  requireUser(context, request);
  const form = await request.formData();
  const content = formText(form, "content");
  try {
    await context.api.chat.send({ conversationId: params.conversationId ?? "", content });
  } catch (error) {
    return formFailure(context, error, { content });
  }
  return redirect(`/c/${params.conversationId}`);
}

export default function ConversationPage() {
  const { conversation, messages, hasEarlier, hit } = useLoaderData<typeof loader>();
  const { models, openSidebar, sidebarOpen } = useOutletContext<ChatOutletContext>();
  const refused = useActionData<typeof action>();
  const location = useLocation();
  // Only for the conversation it was made for: this page stays mounted from one to the next.
  const handedOver = (location.state as { pendingSend?: PendingSend } | null)?.pendingSend;
  const pendingSend = handedOver?.conversationId === conversation.id ? handedOver : null;

  // Sent once: a reload must not offer it again (the clientMessageId would make it harmless anyway).
  useEffect(() => {
    if (pendingSend) window.history.replaceState({ ...window.history.state, usr: null }, "");
  }, [pendingSend]);
  // A search hit: once shown, the conversation chooses its branch (so other devices and a
  // reload show it), and the address drops it through the router, keeping only which message
  // to mark, so revalidating reads the conversation as it is.
  const navigate = useNavigate();
  useEffect(() => {
    if (!hit) return;
    const done = () => navigate(location.pathname, { replace: true, state: { hit } });
    apiClient().conversations.showBranch.mutate({ id: conversation.id, messageId: hit, limit: 1 }).then(done, done);
  }, [hit, conversation.id, location.pathname, navigate]);
  const marked = hit ?? (location.state as { hit?: string } | null)?.hit ?? null;

  return (
    <>
      <ChatTopbar title={conversation.title} onOpenSidebar={openSidebar} sidebarOpen={sidebarOpen}>
        <ConversationSettings conversation={conversation} models={models.models} />
      </ChatTopbar>
      <ChatView
        key={conversation.id}
        conversation={conversation}
        messages={messages}
        hasEarlier={hasEarlier}
        pendingSend={pendingSend}
        refused={refused ? { content: refused.values.content, message: failureMessage(refused) } : null}
        models={models.models}
        defaultModel={models.defaultModel}
        hit={marked}
      />
    </>
  );
}

function ConversationSettings({
  conversation,
  models,
}: {
  conversation: { id: string; model: string; systemPrompt: string | null; temperature: number | null; maxReplyTokens: number | null };
  models: { id: string; label: string }[];
}) {
  const revalidator = useRevalidator();
  const [systemPrompt, setSystemPrompt] = useState(conversation.systemPrompt ?? "");
  const [temperature, setTemperature] = useState(conversation.temperature?.toString() ?? "");
  const [maxReplyTokens, setMaxReplyTokens] = useState(conversation.maxReplyTokens?.toString() ?? "");
  const [status, setStatus] = useState<string | null>(null);
  const known = models.some((model) => model.id === conversation.model);
  const options = known ? models : [...models, { id: conversation.model, label: `${conversation.model} (no longer offered)` }];

  async function update(change: {
    model?: string;
    systemPrompt?: string | null;
    temperature?: number | null;
    maxReplyTokens?: number | null;
  }) {
    try {
      await apiClient().conversations.update.mutate({ id: conversation.id, ...change });
      setStatus(change.model === undefined ? "Saved." : null);
      revalidator.revalidate();
    } catch (failure) {
      setStatus((failure as Error).message);
    }
  }

  return (
    <>
      <ModelPicker models={options} value={conversation.model} onChange={(model) => void update({ model })} />
      <details className="system-prompt-popover">
        <summary>Settings</summary>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void update({
              systemPrompt: systemPrompt.trim() || null,
              // Blank: the default (the model server's temperature, the longest reply allowed).
              temperature: temperature.trim() === "" ? null : Number(temperature),
              maxReplyTokens: maxReplyTokens.trim() === "" ? null : Number(maxReplyTokens),
            });
          }}
        >
          <label htmlFor="system-prompt">System prompt for this conversation</label>
          <textarea
            id="system-prompt"
            rows={4}
            maxLength={LIMITS.systemPromptChars}
            value={systemPrompt}
            onChange={(event) => setSystemPrompt(event.target.value)}
            placeholder="e.g. Answer in French."
          />
          <NumberSetting
            id="temperature"
            label="Temperature"
            hint="0–2; blank: the server's default. Lower is steadier."
            value={temperature}
            onChange={setTemperature}
            min={0}
            max={2}
            step={0.1}
          />
          <NumberSetting
            id="max-reply-tokens"
            label="Longest reply"
            hint="In tokens (about ¾ of a word); blank: the most allowed."
            value={maxReplyTokens}
            onChange={setMaxReplyTokens}
            min={1}
            step={1}
          />
          <div className="actions">
            <button type="submit" className="button primary small">
              Save
            </button>
            {status ? <span role="status">{status}</span> : null}
          </div>
        </form>
      </details>
    </>
  );
}

/** A number a conversation may set, blank for the default, with what it means beside its name. */
function NumberSetting({
  id,
  label,
  hint,
  value,
  onChange,
  min,
  max,
  step,
}: {
  id: string;
  label: string;
  hint: string;
  value: string;
  onChange: (value: string) => void;
  min: number;
  max?: number;
  step: number;
}) {
  return (
    <div className="settings-row">
      <label htmlFor={id}>
        {label}
        <span className="field-hint">{hint}</span>
      </label>
      <input
        id={id}
        type="number"
        inputMode={Number.isInteger(step) ? "numeric" : "decimal"}
        min={min}
        max={max}
        step={step}
        value={value}
        placeholder="default"
        onChange={(event) => onChange(event.target.value)}
      />
    </div>
  );
}

export function ErrorBoundary() {
  return <ErrorPage />;
}
