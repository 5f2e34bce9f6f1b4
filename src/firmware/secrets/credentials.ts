import type { Finding } from '../model.ts';

/** key = value, key: value, key "value" (shell, ini, yaml, nvram dumps, uci). */
const ASSIGN_RE =
  /\b(pass(?:word|wd|phrase)?|pwd|secret|api[_-]?key|access[_-]?key|auth[_-]?token|token|psk|wpa_passphrase|private[_-]?key)\b["']?\s*[:=]\s*["']?([^\s"'#;<>,]{3,128})/gi;
/** <password>value</password> and similar XML elements. */
const XML_RE = /<(password|passwd|secret|psk|apikey|api_key|token)>([^<\s]{3,128})<\/\1>/gi;

const PLACEHOLDER =
  /^(\$\{?\w+\}?|%\w|<[^>]*>|\*+|x+|none|null|nil|true|false|yes|no|required|optional|string|\[.*\]|\(.*\)|\{.*\})$/i;

/** Text-like configuration files: by extension, or anything under etc/. Binaries are left to scanPem. */
export function isConfigPath(path: string): boolean {
  const inner = path.split('!/').pop() ?? path;
  return (
    /\.(conf|cfg|cnf|ini|json|xml|ya?ml|properties|env|config|txt|sh|lua|uci)$/i.test(inner) ||
    /(^|\/)etc\//.test(inner)
  );
}

/** Shows that a secret exists without storing it: first character and length. */
export function redact(value: string): string {
  return `${value[0]}…(${value.length} chars)`;
}

/** Hard-coded credentials in a configuration file's text; values are redacted in the findings. */
export function scanCredentials(text: string, path: string): Finding[] {
  const out: Finding[] = [];
  for (const re of [ASSIGN_RE, XML_RE]) {
    for (const m of text.matchAll(re)) {
      if (out.length >= 20) return out;
      const key = m[1]!;
      const value = m[2]!;
      if (PLACEHOLDER.test(value) || value.toLowerCase() === key.toLowerCase()) continue;
      const line = text.slice(0, m.index).split('\n').length;
      out.push({
        kind: 'hardcoded-credential',
        severity: 'medium',
        path,
        message: `hard-coded ${key.toLowerCase()} on line ${line}`,
        detail: { key, line, value: redact(value) },
      });
    }
  }
  return out;
}
