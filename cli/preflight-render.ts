/** The preflight table: one row a check, its problems and their fixes wrapped under it. */
import { CheckResult } from "../lib/preflight";

/** The table's width in characters. */
export const TABLE_WIDTH = 100;

/** Splits text into lines of at most `width` characters, at spaces where it can. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line === "") line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== "" || lines.length === 0) lines.push(line);
  return lines;
}

/** The table with a summary line. */
export function renderChecks(results: readonly CheckResult[]): string[] {
  const resultWidth = Math.max("RESULT".length, ...results.map((r) => r.status.length));
  const checkWidth = Math.max("CHECK".length, ...results.map((r) => r.id.length));
  const indent = " ".repeat(resultWidth + 2 + checkWidth + 2);
  const detailWidth = TABLE_WIDTH - indent.length;
  const out = [`${"RESULT".padEnd(resultWidth)}  ${"CHECK".padEnd(checkWidth)}  DETAIL`];
  for (const r of results) {
    const detail: string[] =
      r.findings.length === 0
        ? wrap(`${r.title}: ${r.note}`, detailWidth)
        : r.findings.flatMap((f) => [
            ...wrap(f.problem, detailWidth),
            ...wrap(`fix: ${f.fix}`, detailWidth - 2).map((l, i) => (i === 0 ? l : `  ${l}`)),
          ]);
    detail.forEach((line, i) => {
      out.push(
        i === 0
          ? `${r.status.padEnd(resultWidth)}  ${r.id.padEnd(checkWidth)}  ${line}`
          : `${indent}${line}`,
      );
    });
  }
  const count = (s: CheckResult["status"]): number => results.filter((r) => r.status === s).length;
  out.push(
    "",
    `${count("pass")} passed, ${count("warn")} warned, ${count("fail")} failed, ` +
      `${count("skipped")} skipped`,
  );
  return out;
}
