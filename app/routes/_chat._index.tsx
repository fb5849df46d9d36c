import { redirect, type ActionFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useActionData, useNavigate, useOutletContext } from "@remix-run/react";
import { useState } from "react";
import { ChatTopbar, ModelPicker } from "~/components/chat-topbar";
import { Composer } from "~/components/composer";
import { apiClient } from "~/lib/api-client";
import { failureMessage } from "~/lib/form-failure";
import { fieldFailure, formFailure, formText } from "~/lib/forms.server";
import { requireUser } from "~/lib/session.server";
import type { ChatOutletContext } from "./_chat";
import { LIMITS, messageRefusal } from "../../client/limits";

export const meta: MetaFunction = () => [{ title: "New chat · TeamGPT" }];

/**
 * Without JavaScript: create the conversation, wait for the whole reply, show it. An empty or
 * too long message is refused before any conversation is made; one refused later (too many at
 * once, a model server's limit) leaves no empty conversation behind.
 */
export async function action({ context, request }: ActionFunctionArgs) {
  requireUser(context, request);
  const form = await request.formData();
  const content = formText(form, "content");
  const refusal = messageRefusal(content);
  if (refusal) return fieldFailure("content", refusal, { content });
  const conversation = await context.api.conversations.create({});
  try {
    await context.api.chat.send({ conversationId: conversation.id, content });
  } catch (error) {
    await deleteIfEmpty(context, conversation.id);
    return formFailure(context, error, { content });
  }
  return redirect(`/c/${conversation.id}`);
}

/** A send that failed after its message was stored (access ended meanwhile) keeps the conversation. */
async function deleteIfEmpty(context: ActionFunctionArgs["context"], id: string) {
  try {
    const { messages } = await context.api.conversations.get({ id, limit: 1 });
    if (messages.length === 0) await context.api.conversations.delete({ id });
  } catch {
    // The refusal being shown matters more; an empty conversation left behind is harmless.
  }
}

export default function NewChatPage() {
  const { models, openSidebar, sidebarOpen } = useOutletContext<ChatOutletContext>();
  const navigate = useNavigate();
  const refused = useActionData<typeof action>();
  const [draft, setDraft] = useState(refused?.values.content ?? "");
  const [model, setModel] = useState(models.defaultModel);
  const [systemPrompt, setSystemPrompt] = useState("");
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(failureMessage(refused));
  const [compareModels, setCompareModels] = useState<string[] | null>(null);

  async function start() {
    setSending(true);
    setError(null);
    try {
      const conversation = await apiClient().conversations.create.mutate({ model, systemPrompt: systemPrompt.trim() || null });
      navigate(`/c/${conversation.id}`, {
        state: {
          pendingSend: { conversationId: conversation.id, content: draft, clientMessageId: crypto.randomUUID(), models: compareModels },
        },
      });
    } catch (failure) {
      setSending(false);
      setError((failure as Error).message);
    }
  }

  return (
    <>
      <ChatTopbar title="New chat" onOpenSidebar={openSidebar} sidebarOpen={sidebarOpen}>
        <ModelPicker models={models.models} value={model} onChange={setModel} />
      </ChatTopbar>
      <div className="chat">
        <div className="messages">
          <div className="messages-inner new-chat-intro">
            <h2>What can I help with?</h2>
            {models.demo ? (
              <p className="notice" role="note">
                No model server is configured, so the <strong>offline demo</strong> answers with canned replies. An admin can set{" "}
                <code>OPENAI_API_KEY</code> (and <code>OPENAI_BASE_URL</code> for Ollama, vLLM or another server) and restart TeamGPT.
              </p>
            ) : null}
            <details className="system-prompt">
              <summary>System prompt (optional)</summary>
              <label htmlFor="new-system-prompt" className="visually-hidden">
                System prompt
              </label>
              <textarea
                id="new-system-prompt"
                rows={3}
                maxLength={LIMITS.systemPromptChars}
                placeholder="e.g. You are a concise assistant for our support team."
                value={systemPrompt}
                onChange={(event) => setSystemPrompt(event.target.value)}
              />
            </details>
          </div>
        </div>
        <Composer
          draft={draft}
          onDraftChange={setDraft}
          onSend={() => void start()}
          onStop={() => {}}
          generating={false}
          sending={sending}
          error={error}
          action="/?index"
          compare={{ models: models.models, chosen: compareModels, onChange: setCompareModels, current: model }}
        />
      </div>
    </>
  );
}
