// Renders the fields built by schemaForm.ts from a connector's JSON schema.

import type { Field, FormState } from "../schemaForm";
import { Field as Labelled } from "./ui";

interface Props {
  fields: Field[];
  state: FormState;
  errors: Record<string, string>;
  onChange: (path: string, value: string | boolean) => void;
}

export function SchemaForm({ fields, state, errors, onChange }: Props) {
  return (
    <>
      {fields.map((f) => (
        <SchemaField key={f.path} field={f} state={state} errors={errors} onChange={onChange} />
      ))}
    </>
  );
}

function SchemaField({ field: f, state, errors, onChange }: Omit<Props, "fields"> & { field: Field }) {
  const str = (path: string) => (typeof state[path] === "string" ? (state[path] as string) : "");
  switch (f.kind) {
    case "object": {
      const enabledKey = `${f.path}.__enabled`;
      const enabled = f.required || state[enabledKey] === true;
      return (
        <fieldset className="nested">
          <legend>{f.label}</legend>
          {f.description && <p className="hint">{f.description}</p>}
          {!f.required && (
            <label className="check">
              <input
                type="checkbox"
                checked={enabled}
                onChange={(e) => onChange(enabledKey, e.target.checked)}
              />{" "}
              Use {f.label.toLowerCase()}
            </label>
          )}
          {enabled && <SchemaForm fields={f.fields} state={state} errors={errors} onChange={onChange} />}
        </fieldset>
      );
    }
    case "union": {
      const chosen = f.options.find((o) => o.value === str(f.path));
      return (
        <fieldset className="nested">
          <legend>{f.label}</legend>
          <Labelled label={`${f.label}: ${f.discriminator}`} hint={f.description} error={errors[f.path]}>
            {(p) => (
              <select {...p} value={str(f.path)} onChange={(e) => onChange(f.path, e.target.value)}>
                {f.options.map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
            )}
          </Labelled>
          {chosen && (
            <SchemaForm fields={chosen.fields} state={state} errors={errors} onChange={onChange} />
          )}
        </fieldset>
      );
    }
    case "boolean":
      return (
        <div className="field">
          <label className="check">
            <input
              type="checkbox"
              checked={state[f.path] === true}
              onChange={(e) => onChange(f.path, e.target.checked)}
            />{" "}
            {f.label}
          </label>
          {f.description && <small className="hint">{f.description}</small>}
        </div>
      );
    case "enum":
      return (
        <Labelled label={f.label} hint={f.description} error={errors[f.path]} required={f.required}>
          {(p) => (
            <select {...p} value={str(f.path)} onChange={(e) => onChange(f.path, e.target.value)}>
              {!f.required && <option value="">—</option>}
              {f.required && !f.default && <option value="">Choose…</option>}
              {f.options.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
          )}
        </Labelled>
      );
    case "number":
    case "integer":
      return (
        <Labelled label={f.label} hint={f.description} error={errors[f.path]} required={f.required}>
          {(p) => (
            <input
              {...p}
              type="number"
              step={f.kind === "integer" ? 1 : "any"}
              value={str(f.path)}
              onChange={(e) => onChange(f.path, e.target.value)}
            />
          )}
        </Labelled>
      );
    case "string":
      return (
        <Labelled label={f.label} hint={f.description} error={errors[f.path]} required={f.required}>
          {(p) =>
            f.multiline ? (
              <textarea {...p} rows={3} value={str(f.path)} onChange={(e) => onChange(f.path, e.target.value)} />
            ) : (
              <input
                {...p}
                type={f.secret ? "password" : "text"}
                autoComplete={f.secret ? "new-password" : "off"}
                value={str(f.path)}
                onChange={(e) => onChange(f.path, e.target.value)}
              />
            )
          }
        </Labelled>
      );
    default: {
      const hints = {
        list: "One per line, or separated by commas.",
        map: "One key=value per line.",
        json: "JSON.",
      } as const;
      const hint = [f.description, hints[f.kind]].filter(Boolean).join(" ");
      return (
        <Labelled label={f.label} hint={hint} error={errors[f.path]} required={f.required}>
          {(p) => (
            <textarea {...p} rows={2} value={str(f.path)} onChange={(e) => onChange(f.path, e.target.value)} />
          )}
        </Labelled>
      );
    }
  }
}
