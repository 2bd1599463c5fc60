export class SecretReferenceError extends Error {}

/** Replaces `${name}` with `params[name]` (the emitter's secureParams); an unknown name is an error naming it. */
export function substituteSecrets(value: string, params: Readonly<Record<string, string>>): string {
  return value.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new SecretReferenceError(`\${${name}} is not defined in secureParams`);
    return v;
  });
}
