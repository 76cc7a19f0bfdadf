/**
 * Reads the command lines a sudoers drop-in lets someone run, so the install check audits what
 * sudo really runs rather than what the audit assumes. Pure: the caller reads the file.
 *
 * @module
 */

/** The command lines of a sudoers drop-in, and what makes any of them unauditable. */
export interface PinnedCommands {
  /** Each command line, unescaped: `[program, ...args]`. */
  readonly commands: readonly (readonly string[])[];
  /** One line each: a grant of `ALL`, a wildcard, a command open to any arguments, ... */
  readonly problems: readonly string[];
}

const TAG = /^(NO)?(PASSWD|EXEC|SETENV|LOG_INPUT|LOG_OUTPUT|MAIL|FOLLOW|INTERCEPT):/;
const OPTION = /^(CWD|CHROOT|ROLE|TYPE|TIMEOUT|NOTBEFORE|NOTAFTER|APPARMOR_PROFILE)=\S+\s*/;
const ALIAS_NAME = /^[A-Z][A-Z0-9_]*$/;
/** Defaults that let the caller hand the root command its own environment. */
const OPEN_ENVIRONMENT = /(!\s*env_reset|\benv_keep\b|\bsetenv\b|\benv_file\b)/;

/** Splits on an unescaped separator; escapes stay in the pieces. */
function splitUnescaped(text: string, separator: RegExp): string[] {
  const pieces: string[] = [];
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\" && i + 1 < text.length) {
      current += c + text[i + 1];
      i++;
    } else if (separator.test(c)) {
      pieces.push(current);
      current = "";
    } else current += c;
  }
  pieces.push(current);
  return pieces;
}

/** `\,` `\:` `\=` `\\` (and any other escaped character) stand for the character itself. */
function unescape(word: string): string {
  return word.replace(/\\(.)/g, "$1");
}

/** Logical lines: continuations joined, comments dropped (`#123` is a uid, not a comment). */
function logicalLines(text: string): string[] {
  const joined = text.replace(/(?<!\\)((?:\\\\)*)\\\n/g, "$1 ");
  return joined.split("\n").map((line) => {
    if (/^\s*[#@]include(dir)?\b/.test(line)) return line.trim();
    let out = "";
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (c === "\\" && i + 1 < line.length) {
        out += c + line[i + 1];
        i++;
      } else if (c === "#" && !/[0-9]/.test(line[i + 1] ?? "")) break;
      else out += c;
    }
    return out.trim();
  }).filter((line) => line !== "");
}

/** Strips a runas list, tags and options in front of a command, reporting `SETENV:`. */
function stripPrefix(item: string, problems: string[]): string {
  let rest = item.trim().replace(/^\([^)]*\)\s*/, "");
  for (;;) {
    const tag = TAG.exec(rest);
    const option = OPTION.exec(rest);
    if (tag !== null) {
      if (tag[0] === "SETENV:") {
        problems.push(`sudoers: SETENV lets the caller set the root command's environment`);
      }
      rest = rest.slice(tag[0].length).trimStart();
    } else if (option !== null) rest = rest.slice(option[0].length);
    else return rest;
  }
}

/**
 * Lists every command line in a sudoers drop-in: those of each `Cmnd_Alias` and those written
 * directly in a user specification. Arguments are split on unescaped blanks and unescaped
 * (`\,` `\:` `\=` `\\`). A line only pins what it spells out, so the problems name whatever
 * widens it: `ALL`, wildcards, a command with no argument list (sudo then allows any), an
 * `@include`, and defaults or tags that pass the caller's environment through.
 *
 * @param text The drop-in, as written by `deno task sudoers` or installed.
 * @returns The command lines and the problems, both in file order.
 * @example
 * ```ts
 * import { pinnedCommands } from "./sudoers_commands.ts";
 * import assert from "node:assert/strict";
 * const text = "Cmnd_Alias A = /usr/bin/deno run --allow-run\\=/a\\,/b\nsvc ALL=(root) NOPASSWD: A\n";
 * assert.deepEqual(pinnedCommands(text).commands, [
 *   ["/usr/bin/deno", "run", "--allow-run=/a,/b"],
 * ]);
 * ```
 */
export function pinnedCommands(text: string): PinnedCommands {
  const commands: string[][] = [];
  const problems: string[] = [];
  const command = (item: string) => {
    const rest = stripPrefix(item, problems);
    if (rest === "" || rest.startsWith("!") || (ALIAS_NAME.test(rest) && rest !== "ALL")) return;
    if (rest === "ALL") {
      problems.push("sudoers: grants ALL, so no command line is pinned");
      return;
    }
    const words = splitUnescaped(rest, /\s/).filter((w) => w !== "");
    if (!words[0]!.startsWith("/")) {
      problems.push(`sudoers: cannot read "${rest}" as a pinned command line`);
      return;
    }
    if (words.some((w) => /(?<!\\)[*?[]/.test(w))) {
      problems.push(`sudoers: "${unescape(words[0]!)}" has a wildcard, so its line is not pinned`);
    }
    if (words.length === 1) {
      problems.push(`sudoers: "${unescape(words[0]!)}" has no argument list, so any is allowed`);
    }
    const argv = words.map(unescape);
    commands.push(argv.length === 2 && argv[1] === '""' ? argv.slice(0, 1) : argv);
  };
  for (const line of logicalLines(text)) {
    if (/^[#@]include/.test(line)) {
      problems.push(`sudoers: "${line}" pulls in another file, which this check does not read`);
    } else if (/^Defaults\b/.test(line)) {
      if (OPEN_ENVIRONMENT.test(line)) {
        problems.push(`sudoers: "${line}" lets the caller set the root command's environment`);
      }
    } else if (/^(User|Runas|Host)_Alias\b/.test(line)) continue;
    else if (/^Cmn?d_Alias\b/.test(line)) {
      const definitions = line.replace(/^Cmn?d_Alias\s+/, "");
      for (const definition of splitUnescaped(definitions, /:/)) {
        const at = splitUnescaped(definition, /=/);
        splitUnescaped(at.slice(1).join("="), /,/).forEach(command);
      }
    } else {
      const at = splitUnescaped(line, /=/);
      if (at.length < 2) {
        problems.push(`sudoers: cannot read "${line}"`);
        continue;
      }
      splitUnescaped(at.slice(1).join("="), /,/).forEach(command);
    }
  }
  return { commands, problems };
}
