import type { ReactNode } from "react";
import { MenuIcon } from "./icons";

/** The bar above a chat: the drawer button on phones, the title, then the chat's controls. */
export function ChatTopbar({
  title,
  onOpenSidebar,
  sidebarOpen,
  children,
}: {
  title: string;
  onOpenSidebar: () => void;
  sidebarOpen: boolean;
  children?: ReactNode;
}) {
  return (
    <header className="chat-topbar">
      <button
        type="button"
        className="icon-button open-sidebar"
        aria-label="Open sidebar"
        aria-controls="sidebar"
        aria-expanded={sidebarOpen}
        onClick={onOpenSidebar}
      >
        <MenuIcon />
      </button>
      <h1 className="chat-title">{title}</h1>
      <div className="chat-controls">{children}</div>
    </header>
  );
}

export function ModelPicker({
  models,
  value,
  onChange,
}: {
  models: { id: string; label: string }[];
  value: string;
  onChange: (model: string) => void;
}) {
  return (
    <label className="model-picker">
      <span className="visually-hidden">Model</span>
      <select value={value} onChange={(event) => onChange(event.target.value)} aria-label="Model">
        {models.map((model) => (
          <option key={model.id} value={model.id}>
            {model.label}
          </option>
        ))}
      </select>
    </label>
  );
}
