// Parse a Mermaid diagram (stdin) with mermaid itself and print what it understood as JSON:
// {ok, type, dateFormat, tasks: [{section, task, id, crit, done, start, end}]} or {ok: false, error}.
// mermaid imports DOMPurify, which needs a window: jsdom provides one. For a Gantt chart the
// tasks are resolved by mermaid's gantt db (mermaid-js/mermaid@v11 packages/mermaid/src/diagrams/
// gantt/ganttDb.js getTasks), which is where a bad date or a bad task line is refused.
import { JSDOM } from "jsdom";
import { readFileSync } from "node:fs";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });
const text = readFileSync(0, "utf8");
try {
  const parsed = await mermaid.parse(text);
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
  const db = diagram.db;
  const tasks = (db.getTasks ? db.getTasks() : []).map((t) => ({
    section: t.section, task: t.task.trim(), id: t.id, crit: !!t.crit, done: !!t.done,
    start: +t.startTime, end: +t.endTime,
  }));
  console.log(JSON.stringify({ ok: true, type: parsed.diagramType, dateFormat: db.getDateFormat ? db.getDateFormat() : null, tasks }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String((e && e.message) || e) }));
  process.exitCode = 1;
}
