import { AccountBadge, LogoutButton } from "./account-menu";
import { Link, NavLink } from "@remix-run/react";

interface AppHeaderProps {
  user: { username: string; role: "admin" | "user" };
}

export function AppHeader({ user }: AppHeaderProps) {
  return (
    <header className="app-header">
      <Link to="/" className="brand">
        TeamGPT
      </Link>
      <nav aria-label="Main">
        <NavLink to="/" end>
          Chat
        </NavLink>
        {user.role === "admin" ? <NavLink to="/admin/keys">Registration keys</NavLink> : null}
        {user.role === "admin" ? <NavLink to="/admin/users">Users</NavLink> : null}
        {user.role === "admin" ? <NavLink to="/admin/models">Models</NavLink> : null}
        <NavLink to="/account">Account</NavLink>
      </nav>
      <div className="account">
        <AccountBadge user={user} />
        <LogoutButton />
      </div>
    </header>
  );
}
