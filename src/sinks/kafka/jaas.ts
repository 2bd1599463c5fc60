/**
 * Reads a Java JAAS login line as Kafka clients write it in
 * `sasl.jaas.config` (Blitz's `sasl.jaasConfig`), e.g.
 *   org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="${pswd}";
 * and substitutes `${name}` from `secureParams` in the option values.
 */
export interface JaasLogin {
  loginModule: string;
  options: Record<string, string>;
}

export class JaasError extends Error {}

const HEAD = /^\s*([A-Za-z_$][\w$.]*)\s+(required|requisite|sufficient|optional)\b/;

export function parseJaas(text: string): JaasLogin {
  const head = HEAD.exec(text);
  if (!head) throw new JaasError('expected "<LoginModule class> required key="value" …;"');
  const options: Record<string, string> = {};
  let rest = text.slice(head[0].length);
  for (;;) {
    rest = rest.replace(/^\s+/, '');
    if (rest === '' || rest === ';') break;
    if (rest.startsWith(';')) throw new JaasError(`unexpected text after ";": ${rest.slice(1).trim()}`);
    const m = /^([A-Za-z_][\w.-]*)\s*=\s*/.exec(rest);
    if (!m) throw new JaasError(`expected key="value" at: ${rest.slice(0, 30)}`);
    rest = rest.slice(m[0].length);
    let value: string;
    if (rest.startsWith('"')) {
      // Java's JAAS parser treats backslash as an escape inside quotes.
      const q = /^"((?:[^"\\]|\\.)*)"/s.exec(rest);
      if (!q) throw new JaasError(`unterminated quoted value for ${m[1]}`);
      value = q[1]!.replace(/\\(.)/gs, '$1');
      rest = rest.slice(q[0].length);
    } else {
      const bare = /^[^\s;"]+/.exec(rest);
      if (!bare) throw new JaasError(`missing value for ${m[1]}`);
      value = bare[0];
      rest = rest.slice(bare[0].length);
    }
    options[m[1]!] = value;
  }
  return { loginModule: head[1]!, options };
}

/** Replaces `${name}` with `params[name]`; an unknown name is an error naming it. */
export function substituteParams(value: string, params: Readonly<Record<string, string>>): string {
  return value.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new JaasError(`\${${name}} is not defined in secureParams`);
    return v;
  });
}
