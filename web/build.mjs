// Bundles src/ into dist/: content-hashed JS and CSS under dist/assets/, and dist/index.html
// naming them. The bundle is build output (never committed); Tandem serves dist/.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");

await rm(dist, { recursive: true, force: true });
const result = await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  minify: true,
  sourcemap: false,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  outdir: join(dist, "assets"),
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs);
const script = outputs.find((p) => p.endsWith(".js"));
const style = outputs.find((p) => p.endsWith(".css"));
const template = await readFile(join(here, "src", "index.html"), "utf8");
const html = template
  .replace("%SCRIPT%", `/assets/${basename(script)}`)
  .replace("%STYLE%", `/assets/${basename(style)}`);
await mkdir(dist, { recursive: true });
await writeFile(join(dist, "index.html"), html);
const digest = createHash("sha256").update(html).digest("hex").slice(0, 16);
// The service worker keeps this build's shell for offline use; it is not hashed (its URL must
// stay the same) and is served uncached.
const assets = outputs.map((p) => `/assets/${basename(p)}`);
const worker = (await readFile(join(here, "src", "sw.js"), "utf8"))
  .replace("%BUILD%", digest)
  .replace("%ASSETS%", JSON.stringify(assets));
await writeFile(join(dist, "sw.js"), worker);
await writeFile(join(dist, ".built"), `${digest}\n`);
