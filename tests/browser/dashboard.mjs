// Drives the dashboard in headless Debian chromium: live results drawn over frames, the add
// form, the remove button; keeps a screenshot. Usage: node dashboard.mjs BASE_URL TOKEN PNG
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { chromium } from "playwright-core";

const [base, token, shot] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "vlmstream-chromium-"));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
});
const fail = (msg) => { throw new Error(msg); };
try {
  const page = ctx.pages()[0] || (await ctx.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${base}/dashboard#token=${encodeURIComponent(token)}`);
  await page.waitForSelector("#conn[data-state='open']", { timeout: 15000 });

  // Every stream the server runs shows live results drawn over its frames.
  const card = (id) => `article.card[data-stream-id='${id}']`;
  const live = async (id) => page.waitForFunction((sel) => {
    const c = document.querySelector(sel);
    return c && c.dataset.state === "live" && Number(c.dataset.drawn) >= 3
      && Number(c.dataset.results) >= 3 && c.dataset.overlaySeq !== undefined
      && c.querySelector(".p99").textContent.match(/p99 \d+ ms/);
  }, card(id), { timeout: 20000 });
  await live("cam-a");
  await live("cam-b");

  // The canvas holds a real picture (not a blank or single colour).
  const spread = await page.$eval(`${card("cam-a")} canvas.frame`, (cv) => {
    const d = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
    let lo = 255, hi = 0;
    for (let i = 0; i < d.length; i += 4 * 97) { lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); }
    return hi - lo;
  });
  if (spread < 40) fail(`cam-a canvas looks blank (spread ${spread})`);
  const sparkDrawn = await page.$eval(`${card("cam-a")} canvas.spark`, (cv) =>
    cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data.some((v) => v !== 0));
  if (!sparkDrawn) fail("latency sparkline was not drawn");

  // Add a stream with the form; it comes up live.
  await page.fill("#add-form input[name=source]", "synthetic://?size=320x180&fps=15&seed=3");
  await page.fill("#add-form input[name=id]", "from-form");
  await page.fill("#add-form input[name=fps]", "4");
  await page.click("#add-form button[type=submit]");
  await live("from-form");

  // A source outside the allowlist is refused with the server's message.
  await page.fill("#add-form input[name=source]", "file:///etc/passwd");
  await page.click("#add-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#add-error").textContent.includes("allowlist"),
    null, { timeout: 10000 });

  // Remove it again with its button.
  await page.click(`${card("from-form")} button.remove`);
  await page.waitForSelector(card("from-form"), { state: "detached", timeout: 10000 });
  const left = await page.evaluate(async (t) => (await (await fetch("/api/streams",
    { headers: { Authorization: `Bearer ${t}` } })).json()).map((s) => s.id), token);
  if (left.includes("from-form")) fail("removed stream still listed by the server");

  await page.waitForTimeout(500);
  mkdirSync(dirname(shot), { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });
  if (errors.length) fail(`page errors: ${errors.join("; ")}`);
  console.log(JSON.stringify({ ok: true, streams: left, screenshot: shot }));
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
