// mmdg serve's page in a real browser: Debian's chromium, headless, driven by playwright-core.
// Starts `mmdg serve --port 0` on a tiny checkpoint, loads the page, chooses a synthetic sample's
// three files in the file inputs (as a person would) and predicts; the score the page shows
// must equal the API's answer to the same files. Then the "Use sample" path, the model panel,
// a screenshot (MMDG_ARTIFACTS/serve_page.png), and a graceful stop on SIGTERM (exit 0).
// Environment: MMDG_CLI, MMDG_TEST_DATA, MMDG_ARTIFACTS, CHROMIUM (run.sh sets them).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const cli = process.env.MMDG_CLI;
const work = mkdtempSync(join(tmpdir(), "mmdg-browser-"));
const artifacts = process.env.MMDG_ARTIFACTS;
mkdirSync(artifacts, { recursive: true });
const checkpoint = join(work, "tiny.safetensors");
execFileSync(cli, ["-q", "model", "init", "--config", "mmdg_tiny", "--pretrained",
                   join(process.env.MMDG_TEST_DATA, "vit_tiny_torchvision.pth"), "--out", checkpoint]);

// the server, and the URL it prints
const server = spawn(cli, ["serve", "--checkpoint", checkpoint, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
const base = await new Promise((resolve, reject) => {
  let out = "";
  server.stdout.on("data", (chunk) => {
    out += chunk;
    const m = out.match(/listening on (http:\/\/[^\s/]+)\//);
    if (m) resolve(m[1]);
  });
  server.on("exit", (code) => reject(new Error("mmdg serve exited with " + code + " before listening")));
  setTimeout(() => reject(new Error("mmdg serve did not print its address in 60 s")), 60000);
});
const exited = new Promise((resolve) => server.on("exit", (code, signal) => resolve({ code, signal })));

let browser;
try {
  // the sample files, and the API's answer to them
  const samples = await (await fetch(base + "/v1/samples")).json();
  assert.ok(samples.length >= 2, "at least two samples");
  const files = {};
  const form = new FormData();
  for (const m of ["rgb", "depth", "ir"]) {
    const bytes = Buffer.from(samples[1][m].split(",")[1], "base64");
    files[m] = join(work, m + ".png");
    writeFileSync(files[m], bytes);
    form.append(m, new Blob([bytes], { type: "image/png" }), m + ".png");
  }
  form.append("maps", "1");
  const api = await (await fetch(base + "/v1/predict", { method: "POST", body: form })).json();
  assert.equal(typeof api.live_probability, "number", JSON.stringify(api));

  browser = await chromium.launch({ executablePath: process.env.CHROMIUM, headless: true,
                                    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(base + "/");
  await page.waitForSelector("#model td:text('network')");
  // choose the three files, as a person would, and predict
  for (const m of ["rgb", "depth", "ir"]) await page.setInputFiles("#file-" + m, files[m]);
  await page.click("#predict");
  await page.waitForFunction(() => document.getElementById("probability").dataset.value !== "");
  const shown = Number(await page.getAttribute("#probability", "data-value"));
  assert.equal(shown, api.live_probability, "the page's score equals the API's");
  assert.equal((await page.textContent("#verdict")).toLowerCase(), api.decision);
  assert.equal(await page.textContent("#threshold-source"), api.threshold_source);
  const maps = await page.locator("#maps-grid img").count();
  assert.equal(maps, Object.keys(api.maps).length, "one picture per map");
  await page.screenshot({ path: join(artifacts, "serve_page.png"), fullPage: true });

  // the "Use sample" path gives the same score for the same sample
  await page.evaluate(() => { document.getElementById("probability").dataset.value = ""; });
  await page.selectOption("#sample", "1");
  await page.click("#use-sample");
  await page.waitForFunction(() => !document.getElementById("predict").disabled);
  await page.click("#predict");
  await page.waitForFunction(() => document.getElementById("probability").dataset.value !== "");
  assert.equal(Number(await page.getAttribute("#probability", "data-value")), api.live_probability);
  assert.deepEqual(errors, [], "no script errors on the page");
  console.log(`serve page: score ${api.live_probability} (${api.decision}) shown as the API gave it; ` +
              `${maps} maps; screenshot ${join(artifacts, "serve_page.png")}`);
} finally {
  if (browser) await browser.close();
  server.kill("SIGTERM");
  const end = await exited;
  rmSync(work, { recursive: true, force: true });
  assert.deepEqual(end, { code: 0, signal: null }, "mmdg serve stops cleanly on SIGTERM");
}
console.log("1 passed, 0 failed");
