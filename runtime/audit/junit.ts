/**
 * The audit as JUnit XML: one test case per check, for CI systems.
 *
 * @module
 */
import type { AuditReport } from "./types.ts";

function escape(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Renders the report as a JUnit `<testsuites>` document. */
export function junitXml(report: AuditReport): string {
  const failures = report.checks.filter((c) => c.status === "fail").length;
  const skipped = report.checks.filter((c) => c.status === "skip").length;
  const cases = report.checks.map((check) => {
    const open = `    <testcase classname="rootfence.audit" name="${escape(check.name)}">`;
    const body = check.status === "fail"
      ? `\n      <failure message="${escape(check.messages[0] ?? "failed")}">${
        escape(check.messages.join("\n"))
      }</failure>\n    `
      : check.status === "skip"
      ? `\n      <skipped message="${escape(check.messages[0] ?? "")}"/>\n    `
      : "";
    return `${open}${body}</testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="rootfence audit" tests="${report.checks.length}" failures="${failures}">`,
    `  <testsuite name="audit" tests="${report.checks.length}" failures="${failures}" skipped="${skipped}" timestamp="${report.generatedAt}">`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}
