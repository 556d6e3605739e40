#!/usr/bin/env node
// Parse Logseq Markdown pages with mldoc, Logseq's own parser, configured as Logseq
// configures it for the files of a (file-based) Markdown graph.
//
// stdin:  a JSON array of page texts.
// stdout: a JSON array with, for each page, mldoc's raw AST (`Mldoc.parseJson` output:
//         a list of [node, {start_pos, end_pos}] pairs; positions are UTF-8 byte offsets).
//
// One process parses many pages so a test run pays node's start-up once.
//
// The config is Logseq's `logseq.graph-parser.mldoc/default-config` called with
// format :markdown and no options (deps/graph-parser/src/logseq/graph_parser/mldoc.cljc;
// `extract` in extract.cljc calls `(gp-mldoc/default-config format)` for every file).
// That function drops nil entries, so `exporting_keep_properties` and
// `export_md_indent_style` are absent, and `export_md_remove_options` is `[]`.
// (DB graphs additionally set enable_drawers/parse_marker/parse_priority to false;
// Markdown files are file graphs, so those keys are not passed.)
'use strict';

const { Mldoc } = require('mldoc');

const CONFIG = JSON.stringify({
  toc: false,
  parse_outline_only: false,
  heading_number: false,
  keep_line_break: true,
  format: 'Markdown',
  heading_to_list: false,
  export_md_remove_options: [],
});

function main() {
  const chunks = [];
  process.stdin.on('data', (chunk) => chunks.push(chunk));
  process.stdin.on('end', () => {
    const texts = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
      throw new TypeError('stdin must be a JSON array of strings');
    }
    // parseJson returns JSON text; parse it to fail loudly on anything else.
    const asts = texts.map((text) => JSON.parse(Mldoc.parseJson(text, CONFIG)));
    process.stdout.write(JSON.stringify(asts));
  });
}

main();
