import type { ReactNode } from "react";

/** An admin list: the named columns, then (unless `actions` is false) an unlabeled one for each row's actions. */
export function AdminTable({ columns, actions = true, children }: { columns: string[]; actions?: boolean; children: ReactNode }) {
  return (
    <div className="table-wrap">
      <table className="keys-table">
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
            {actions ? (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
