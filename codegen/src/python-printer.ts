/**
 * A Python source file under construction: one line per {@link PythonPrinter.print}, indented four
 * spaces per level of {@link PythonPrinter.indent}. Blank lines carry no indentation, and the
 * content always ends with exactly one newline.
 */
export interface PythonPrinter {
  /** Appends one line, `parts` joined, at the current indentation; no parts: a blank line. */
  print(...parts: readonly (string | number)[]): void;
  /** Runs `body` with the indentation one level (four spaces) deeper. */
  indent(body: () => void): void;
  /**
   * Appends a docstring at the current indentation: one line (`"""text"""`) when `text` has one
   * line, else the summary line, the rest indented, and the closing quotes on their own line.
   */
  docstring(text: string): void;
  /** The file's content so far. */
  content(): string;
}

/** Creates an empty {@link PythonPrinter}. */
export function createPythonPrinter(): PythonPrinter {
  const lines: string[] = [];
  let depth = 0;
  const printer: PythonPrinter = {
    print(...parts) {
      const line = parts.join("");
      lines.push(line === "" ? "" : "    ".repeat(depth) + line);
    },
    indent(body) {
      depth++;
      try {
        body();
      } finally {
        depth--;
      }
    },
    docstring(text) {
      const docLines = escapeDocstring(text).split("\n");
      if (docLines.length === 1) {
        printer.print(`"""${docLines[0]}"""`);
        return;
      }
      printer.print(`"""${docLines[0]}`);
      for (const line of docLines.slice(1)) {
        printer.print(line.trimEnd());
      }
      printer.print(`"""`);
    },
    content() {
      while (lines.length > 0 && lines[lines.length - 1] === "") {
        lines.pop();
      }
      return `${lines.join("\n")}\n`;
    },
  };
  return printer;
}

/**
 * Makes text safe inside a `"""` docstring: backslashes are doubled (a comment's `\n` stays two
 * characters), a run of three quotes is broken, and a quote at the very end is escaped so it does
 * not merge with the closing quotes.
 */
function escapeDocstring(text: string): string {
  let out = text.replaceAll("\\", "\\\\").replaceAll('"""', '\\"\\"\\"');
  if (out.endsWith('"')) {
    out = `${out.substring(0, out.length - 1)}\\"`;
  }
  return out;
}
