#!/usr/bin/env node
// Assembles a report.html or store/index.html from a JSON data file exactly as reports/html_page.cc does:
// uPlot CSS + page CSS in <head>, then <div id="app">, the data (with "</" escaped), uPlot's IIFE, the page script
// (report.html's: src/report/*.js in name order, then src/report.js, joined by newlines, as reports/CMakeLists.txt
// embeds it).
// Usage: node make_page.mjs <data.json> <out.html>     (the data's "kind" picks report or index assets)
// Also importable: makePage(dataObject) -> html string.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const escapeEndTags = (s) => s.replace(/<\//g, '<\\/');
const escapeHtml = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function makePage(data) {
  const kind = data && data.kind === 'index' ? 'index' : 'report';
  const read = (p) => fs.readFileSync(path.join(webDir, p), 'utf8');
  const styles = [read('node_modules/uplot/dist/uPlot.min.css'), read(`src/${kind}.css`)];
  const pageScript = kind === 'index' ? read('src/index.js')
    : [...fs.readdirSync(path.join(webDir, 'src/report')).filter((f) => f.endsWith('.js')).sort().map((f) => read(`src/report/${f}`)),
      read('src/report.js')].join('\n');
  const scripts = [read('node_modules/uplot/dist/uPlot.iife.min.js'), read('src/common.js'), pageScript];
  const title = kind === 'index' ? 'faultline runs' : `faultline report: ${(data.run && data.run.name) || ''}`;
  let html = '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>' + escapeHtml(title) + '</title>\n';
  for (const css of styles) html += '<style>\n' + escapeEndTags(css) + '\n</style>\n';
  html += '</head>\n<body>\n<div id="app"></div>\n<script type="application/json" id="faultline-data">';
  html += escapeEndTags(JSON.stringify(data));
  html += '</script>\n';
  for (const js of scripts) html += '<script>\n' + escapeEndTags(js) + '\n</script>\n';
  html += '</body>\n</html>\n';
  return html;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) { console.error('usage: node make_page.mjs <data.json> <out.html>'); process.exit(2); }
  fs.writeFileSync(output, makePage(JSON.parse(fs.readFileSync(input, 'utf8'))));
}
